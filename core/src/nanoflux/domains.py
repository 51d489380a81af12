"""Domain packs: what makes the Judge competent in a field.

A domain supplies prompt templates, a skill taxonomy, answer checking, tool-based
verification of a question's reference answer, and loaders for benchmark formats.
"""

from __future__ import annotations

import abc
import string
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from .errors import ConfigError, DataFormatError, UsageError
from .inputs import located
from .records import BenchmarkItem, Question, Record, ToolEvidence

BenchmarkLoader = Callable[[Path], list[BenchmarkItem]]
ToolCaller = Callable[[str, dict[str, Any]], ToolEvidence]
"""``call(tool_id, args)`` runs a registered judge tool and returns its evidence."""

ROLES = ("attacker", "defender", "judge")


class PromptSet(Record):
    """Templates in :class:`string.Template` syntax (``$name``), so JSON braces need no escaping."""

    attacker: str
    defender: str
    judge: str

    @classmethod
    def from_package(cls, package: str, folder: str = "prompts") -> PromptSet:
        """Read ``attacker.txt``, ``defender.txt`` and ``judge.txt`` from package data."""
        root = resources.files(package).joinpath(folder)
        return cls(**{role: root.joinpath(f"{role}.txt").read_text("utf-8") for role in ROLES})

    def with_overrides(
        self, overrides: dict[str, str], *, base_dir: Path | None = None
    ) -> PromptSet:
        """Replace templates from a run config; a value naming an existing file is read from it."""
        values = self.model_dump()
        for role, value in overrides.items():
            if role not in ROLES:
                raise ConfigError(f"prompts.{role}: unknown role", hint=f"use one of {ROLES}")
            path = Path(value) if base_dir is None else base_dir / value
            if "\n" not in value and len(value) < 4096 and path.is_file():
                value = path.read_text("utf-8")
            values[role] = value
        return PromptSet(**values)

    def render(self, role: str, **variables: Any) -> str:
        template = string.Template(getattr(self, role))
        return template.safe_substitute({k: str(v) for k, v in variables.items()})


class Verification(Record):
    """What the domain's tools concluded about a question's reference answer."""

    evidence: list[ToolEvidence] = Field(default_factory=list)

    @property
    def verified(self) -> bool | None:
        """True if a tool confirms and none contradicts; False if any contradicts; else None."""
        votes = [e.supports_reference for e in self.evidence if e.supports_reference is not None]
        if not votes:
            return None
        return all(votes)


class Domain(abc.ABC):
    """Subclass in a domain pack and register an instance through ``register_domains``."""

    name: str
    description: str = ""
    #: skills the Attacker targets and the engine tracks weaknesses by
    skills: Sequence[str] = ()
    #: whether the Attacker should write a program whose output is the answer
    supports_programs: bool = False

    @abc.abstractmethod
    def prompts(self) -> PromptSet:
        """The default prompt templates (package data)."""

    @abc.abstractmethod
    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        """Whether ``candidate`` is the same answer as ``reference``, as the field compares them."""

    @abc.abstractmethod
    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Recompute the reference answer with the domain's tools."""

    def loaders(self) -> dict[str, BenchmarkLoader]:
        """Benchmark formats this domain reads, by format name."""
        return {}

    def example_question(self) -> Question:
        """A correct, well-formed question in this domain (contract tests and docs use it)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "skills": list(self.skills),
            "formats": sorted(self.loaders()),
            "supports_programs": self.supports_programs,
        }


class BenchmarkSpec(Record):
    domain: str
    format: str
    path: Path

    @classmethod
    def parse(cls, spec: str) -> BenchmarkSpec:
        parts = spec.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"benchmark spec {spec!r} is not DOMAIN:FORMAT:PATH",
                hint="for example math:gsm8k:data/test.jsonl",
            )
        return cls(domain=parts[0], format=parts[1], path=Path(parts[2]).expanduser())

    def __str__(self) -> str:
        return f"{self.domain}:{self.format}:{self.path}"


def load_benchmark(host, spec: BenchmarkSpec | str) -> list[BenchmarkItem]:
    """The items of ``DOMAIN:FORMAT:PATH``, read by the domain's loader for FORMAT.

    ``host`` is a :class:`nanoflux.plugins.PluginHost` (the domain comes from it).
    """
    parsed = spec if isinstance(spec, BenchmarkSpec) else BenchmarkSpec.parse(spec)
    domain = host.domain(parsed.domain)
    loaders = domain.loaders()
    if parsed.format not in loaders:
        known = ", ".join(sorted(loaders)) or "none"
        raise UsageError(
            f"domain {parsed.domain!r} has no benchmark format {parsed.format!r}",
            hint=f"formats of {parsed.domain}: {known}",
        )
    if not parsed.path.exists():
        raise DataFormatError(f"{parsed.path}: no such file or folder", hint=f"in spec {parsed}")
    # Loaders name the file and line of what they check; whatever else a file holds
    # (binary, deep nesting, huge numbers, fields of the wrong type) is one line here.
    with located(str(parsed.path)):
        return loaders[parsed.format](parsed.path)


def choices_text(choices: Sequence[str] | None) -> str:
    """Lettered options (A. ..., B. ...), as the Defender and the datasets show them."""
    if not choices:
        return ""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "\n".join(f"{letters[i]}. {choice}" for i, choice in enumerate(choices))
