"""Domain packs: what makes the Judge competent in a field.

A domain supplies prompt templates, a skill taxonomy, answer checking, tool-based
verification of a question's reference answer, and loaders for benchmark formats.
"""

from __future__ import annotations

import abc
import inspect
import itertools
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from .errors import ConfigError, DataFormatError, UsageError
from .inputs import located, read_text
from .records import ROLES, BenchmarkItem, Question, Record, ToolEvidence

BenchmarkLoader = Callable[[Path], Iterable[BenchmarkItem]]
"""``load(path)``: a benchmark file's items in order. Written as a generator, it streams:
:func:`load_benchmark` takes the first ``limit`` items and reads no further. Its
docstring's first line says what it reads (the hint of a file with no items)."""
ToolCaller = Callable[[str, dict[str, Any]], ToolEvidence]
"""``call(tool_id, args)`` runs a registered judge tool and returns its evidence."""


@dataclass(frozen=True)
class RoleVariables:
    """The ``$variables`` of one role's template: the one place they are declared."""

    #: every variable of the role; a template may use any of them and no other
    names: tuple[str, ...]
    #: what the template must use: without them it cannot do its role's job
    required: tuple[str, ...] = ()
    #: what the engine may leave out when rendering (then it is empty text)
    optional: tuple[str, ...] = ()


PROMPT_VARIABLES = {
    "attacker": RoleVariables(
        names=(
            "domain",
            "skills",
            "target_skill",
            "weak_skills",
            "recent_wrong",
            "avoid",
            "hops_min",
            "hops_max",
            "seed",  # a seed problem to build a harder variant of
        ),
        optional=("seed",),
    ),
    "defender": RoleVariables(names=("question", "choices"), required=("question",)),
    "judge": RoleVariables(
        names=(
            "question",
            "reference_answer",
            "solution",
            "defender_answer",
            "defender_reasoning",
            "evidence",
            "hops",
        ),
        required=("question",),
    ),
}


def check_template(role: str, template: str) -> None:
    """Refuse a template that uses a variable its role does not have, or lacks a required
    one. ``$$`` is a dollar sign; ``$`` before anything but a name is left as written."""
    declared = PROMPT_VARIABLES[role]
    used = set(string.Template(template).get_identifiers())
    unknown = sorted(used - set(declared.names))
    if unknown:
        raise ConfigError(
            f"the {role} template uses unknown variable ${unknown[0]}",
            hint=f"{role} templates may use ${', $'.join(declared.names)} (write $$ for $)",
        )
    missing = [name for name in declared.required if name not in used]
    if missing:
        raise ConfigError(
            f"the {role} template does not use ${missing[0]}",
            hint=f"a {role} template needs ${', $'.join(declared.required)}",
        )


class PromptSet(Record):
    """Templates in :class:`string.Template` syntax (``$name``), so JSON braces need no escaping.

    Each role's variables are declared in :data:`PROMPT_VARIABLES`: a template is checked
    against them when the set is made, and :meth:`render` against them when it is used.
    """

    attacker: str
    defender: str
    judge: str

    @model_validator(mode="after")
    def _check_templates(self) -> PromptSet:
        for role in ROLES:
            check_template(role, getattr(self, role))
        return self

    @classmethod
    def from_package(cls, package: str, folder: str = "prompts") -> PromptSet:
        """Read ``attacker.txt``, ``defender.txt`` and ``judge.txt`` from package data.
        A prompt that is not there (an install without the package-data step) is one
        line naming the file and the fix."""
        root = resources.files(package).joinpath(folder)
        templates = {}
        for role in ROLES:
            try:
                templates[role] = root.joinpath(f"{role}.txt").read_text("utf-8")
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise ConfigError(
                    f"{package}: no {folder}/{role}.txt in the installed package",
                    hint=f"declare it as package data: [tool.setuptools.package-data] "
                    f'{package} = ["{folder}/*.txt"] in its pyproject.toml, then reinstall',
                ) from exc
        return cls(**templates)

    def with_overrides(
        self, overrides: dict[str, str], *, base_dir: Path | None = None
    ) -> PromptSet:
        """Replace templates from a run config. A value is read from a file when it names
        an existing file, and must name one when it looks like a path
        (:func:`names_a_file`): a mistyped path is an error, not the template text."""
        values = self.model_dump()
        for role, value in overrides.items():
            if role not in ROLES:
                raise ConfigError(f"prompts.{role}: unknown role", hint=f"use one of {ROLES}")
            try:
                values[role] = _template_of(role, value, base_dir)
            except ConfigError as exc:
                raise ConfigError(f"prompts.{role}: {exc.message}", hint=exc.hint) from None
        return PromptSet(**values)

    def render(self, role: str, **variables: Any) -> str:
        """The role's template filled in (see :func:`render`)."""
        return render(role, getattr(self, role), **variables)


#: file names a prompt override is expected to have (see :func:`names_a_file`)
PROMPT_SUFFIXES = (".txt", ".md")


def names_a_file(value: str) -> bool:
    """Whether a prompt override looks like a path rather than a template: one line that
    ends in .txt or .md, or one word (no whitespace) with a / or \\ in it. A template
    is free text; in one line, it has spaces or is a bare ``$name``."""
    if "\n" in value or len(value) >= 4096:
        return False
    word = value.strip()
    return word.lower().endswith(PROMPT_SUFFIXES) or (
        not any(c.isspace() for c in word) and ("/" in word or "\\" in word)
    )


def _template_of(role: str, value: str, base_dir: Path | None) -> str:
    """A prompt override's template: the file it names, or the value itself."""
    path = Path(value.strip()) if base_dir is None else base_dir / value.strip()
    one_line = "\n" not in value and len(value) < 4096
    if one_line and path.is_file():
        value = read_text(path, error=ConfigError)
    elif names_a_file(value):
        raise ConfigError(
            f"no such file {path}",
            hint="a value ending in .txt or .md, or one word with a /, names a prompt file",
        )
    check_template(role, value)
    return value


def render(role: str, template: str, **variables: Any) -> str:
    """``template`` filled in. Every variable passed must be the role's, and every one of
    the role's must be passed but the optional ones (empty text if not)."""
    declared = PROMPT_VARIABLES[role]
    unknown = sorted(set(variables) - set(declared.names))
    missing = [n for n in declared.names if n not in variables and n not in declared.optional]
    if unknown or missing:
        raise ConfigError(
            f"rendering the {role} prompt: "
            + (f"unknown variable ${unknown[0]}" if unknown else f"${missing[0]} not given"),
            hint=f"{role} variables: ${', $'.join(declared.names)} (nanoflux.domains)",
        )
    values = dict.fromkeys(declared.optional, "") | {k: str(v) for k, v in variables.items()}
    return string.Template(template).safe_substitute(values)


class Verification(Record):
    """What the tools concluded about a question's reference answer, and its safety."""

    evidence: list[ToolEvidence] = Field(default_factory=list)

    @property
    def verified(self) -> bool | None:
        """True if a tool confirms and none contradicts; False if any contradicts; else None."""
        votes = [e.supports_reference for e in self.evidence if e.supports_reference is not None]
        if not votes:
            return None
        return all(votes)

    @property
    def safe(self) -> bool | None:
        """False if a safety screen found the reference unsafe; True if screens ran and
        none did; None if no tool screened it."""
        findings = [e.safe for e in self.evidence if e.safe is not None]
        if not findings:
            return None
        return all(findings)


class Domain(abc.ABC):
    """Subclass in a domain pack and register an instance through ``register_domains``."""

    name: str
    description: str = ""
    #: skills the Attacker targets and the engine tracks weaknesses by
    skills: Sequence[str] = ()
    #: whether the Attacker should write a program whose output is the answer
    supports_programs: bool = False
    #: the shape of a reference answer (a JSON-schema regex the grammar enforces), or None
    answer_pattern: str | None = None
    #: the judge tool that runs the Attacker's program. Set, attacks are code-first: the
    #: Attacker writes the problem and a program, the program's value is the reference,
    #: and the Judge's blind solve that reaches it is the worked solution. The round adds
    #: the form of the reply (``nanoflux.engine.programs.PROGRAM_REPLY_FORMAT``) to the
    #: domain's attacker prompt: a template says what to write, not how to format it.
    program_tool: str | None = None

    @abc.abstractmethod
    def prompts(self) -> PromptSet:
        """The default prompt templates (package data)."""

    @abc.abstractmethod
    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        """Whether ``candidate`` is the same answer as ``reference``, as the field compares them."""

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Recompute the reference answer with the domain's tools, where that takes the
        field's knowledge (which tool, which arguments, what counts as agreement).

        The Judge also consults, after this, every tool of the domain that declares
        ``applies_to`` and was not called here (the kit's ``DOMAIN.python`` runs the
        question's program that way), so a pack needs to override this only for the
        checks no single tool can decide alone.
        """
        return Verification()

    def complete(self, question: Question) -> tuple[Question, list[str]]:
        """The question with what its program decides and its problem must show written
        in (a sequence a seeded generator builds, which a small model cannot copy letter
        for letter), before any screen; and one line per change, for the record. The
        default changes nothing. Only what the program fixes may be written in: the
        blind solve and the tools still decide."""
        return question, []

    def as_drafted(self, seed: BenchmarkItem) -> BenchmarkItem:
        """A seed problem as the Attacker is to write one, for the seed it is shown: what
        :meth:`complete` writes in, left as the placeholder the Attacker writes for it
        (``<sequence>``), so that ``complete()`` of it gives the seed's problem back. The
        default shows the seed as it is."""
        return seed

    def screen(self, question: Question) -> list[str]:
        """Free checks of a question before any model answers it: what makes it
        ill-posed, one sentence each (the Attacker is shown them in its repair turn)."""
        return []

    def loaders(self) -> dict[str, BenchmarkLoader]:
        """Benchmark formats this domain reads, by format name."""
        return {}

    def default_seeds(self) -> str | None:
        """``DOMAIN:FORMAT:PATH`` of training problems the pack ships, for seeded attacks
        when a run names none (``rounds.seeds``); None: unseeded. Never an evaluation set."""
        return None

    def example_question(self) -> Question:
        """A correct, well-formed question in this domain (contract tests and docs use it)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "skills": list(self.skills),
            "formats": sorted(self.loaders()),
            "supports_programs": self.supports_programs,
            "code_first": self.program_tool is not None,
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


def load_benchmark(
    host, spec: BenchmarkSpec | str, limit: int | None = None
) -> list[BenchmarkItem]:
    """The items of ``DOMAIN:FORMAT:PATH``, read by the domain's loader for FORMAT: all
    of them, or the first ``limit`` (the rest of the file is not read). At least one.

    ``host`` is a :class:`nanoflux.plugins.PluginHost` (the domain comes from it).
    """
    parsed = spec if isinstance(spec, BenchmarkSpec) else BenchmarkSpec.parse(spec)
    if limit is not None and limit < 1:
        raise UsageError(f"benchmark {parsed}: limit {limit} takes no items", hint="use 1 or more")
    loaders = host.domain(parsed.domain).loaders()
    if parsed.format not in loaders:
        known = ", ".join(sorted(loaders)) or "none"
        raise UsageError(
            f"domain {parsed.domain!r} has no benchmark format {parsed.format!r}",
            hint=f"formats of {parsed.domain}: {known}",
        )
    if not parsed.path.exists():
        raise DataFormatError(f"{parsed.path}: no such file or folder", hint=f"in spec {parsed}")
    load = loaders[parsed.format]
    # Loaders name the file and line of what they check; whatever else a file holds
    # (binary, deep nesting, huge numbers, fields of the wrong type) is one line here.
    with located(str(parsed.path)):
        items = _take(load(parsed.path), limit)
    if not items:
        reads = (inspect.getdoc(load) or "").split("\n")[0].replace("``", "")
        raise DataFormatError(
            f"{parsed.path}: no items", hint=f"format {parsed.format}: {reads}" if reads else None
        )
    for item in items:
        if item.choices and len(item.choices) > len(CHOICE_LETTERS):
            raise DataFormatError(f"{parsed.path}: item {item.id}: {_too_many(item.choices)}")
    return items


def _take(stream: Iterable[BenchmarkItem], limit: int | None) -> list[BenchmarkItem]:
    """The first ``limit`` items (all if None), read no further than that."""
    items = iter(stream)
    try:
        return list(itertools.islice(items, limit))
    finally:
        if hasattr(items, "close"):  # a generator: the file it holds open closes now
            items.close()


#: the letters that name a question's choices, in every prompt, dataset and reading of
#: an answer; a question with more choices than letters is refused (:func:`choices_text`)
CHOICE_LETTERS = string.ascii_uppercase


def _too_many(choices: Sequence[str]) -> str:
    return f"{len(choices)} choices, more than the {len(CHOICE_LETTERS)} letters A-Z can name"


def choices_text(choices: Sequence[str] | None) -> str:
    """Lettered options (A. ..., B. ...), as the Defender and the datasets show them.
    More choices than :data:`CHOICE_LETTERS` is a :class:`DataFormatError`."""
    if not choices:
        return ""
    if len(choices) > len(CHOICE_LETTERS):
        raise DataFormatError(f"a question with {_too_many(choices)}")
    return "\n".join(f"{CHOICE_LETTERS[i]}. {choice}" for i, choice in enumerate(choices))
