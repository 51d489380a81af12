"""The run configuration: a TOML file, overridden by command-line flags."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, clip
from .inputs import describe, load_toml
from .records import ROLES, Record

#: The default roster (README "Models"): the 1.5B model attacks and judges, the 0.5B one
#: defends, roles fixed, each in llama.cpp's own server, which reads the Attacker's brief
#: once for its ``rounds.drafts`` drafts and decodes them together (`nanoflux bench
#: batching -o drafts=1,4`). Measured with `nanoflux bench yield` on 2 CPU cores.
DEFAULT_MODEL = "llamacpp-server:default"
DEFAULT_DEFENDER = "llamacpp-server:qwen2.5-coder-0.5b"


class Settings(Record):
    """A part of the run configuration. Values are taken as written: ``target = true``
    is not the number 1, nor ``enabled = 1`` a yes (a number may stand for a float)."""

    model_config = ConfigDict(strict=True)


class RoleModel(Settings):
    """A model spec plus backend options (temperature, max_tokens, n_ctx, ...)."""

    spec: str = DEFAULT_MODEL
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `attacker = "openai:gpt-4o"` in a file means the spec, with default options
        return {"spec": data} if isinstance(data, str) else data


class Budget(Settings):
    """The run stops at whichever limit comes first (or at the target)."""

    max_rounds: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_minutes: float | None = Field(default=None, gt=0)
    patience: int | None = Field(
        default=100,
        ge=1,
        description="Stop after this many rounds in a row without an accepted example.",
    )


class Acceptance(Settings):
    """The default policy is the paper's: verified, defender wrong, novel, quality L4-ish."""

    require_verified: bool = True
    require_tool_verification: bool = Field(
        default=True,
        description="Verified means a domain tool confirmed the reference, not the judge model.",
    )
    require_defender_wrong: bool = True
    quality_min: float = Field(default=3.5, ge=1, le=5)
    quality_max: float = Field(default=4.49, ge=1, le=5)
    hops_min: int = Field(default=2, ge=1)
    hops_max: int = Field(default=8, ge=1)
    min_safety: int = Field(default=4, ge=1, le=5)
    require_real_hops: bool = True
    require_independent_solve: bool = Field(
        default=True,
        description="The Judge model, solving the question blind before it scores it, "
        "must reach the reference: tools check the arithmetic, this checks the reading. "
        "Always on in code-first domains, where the solve is the worked solution.",
    )
    reject_inconsistent: bool = Field(
        default=True,
        description="A verdict whose rationale contradicts its score (judging."
        "flag_inconsistent: a quality of 4 with 'the reference solution has a major gap') "
        "is rejected: the Judge's own words refute the score the band would accept.",
    )
    max_pass_rate: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="With rounds.defender_samples > 1: the share of the Defender's answers "
        "that may be right (its first answer must still be wrong).",
    )

    @model_validator(mode="after")
    def _bands(self) -> Acceptance:
        if self.quality_min > self.quality_max:
            raise ValueError("quality_min is above quality_max")
        if self.hops_min > self.hops_max:
            raise ValueError("hops_min is above hops_max")
        return self


class NoveltySettings(Settings):
    enabled: bool = True
    embedder: str = "fastembed"
    embedder_options: dict[str, Any] = Field(default_factory=dict)
    store: str = "qdrant"
    store_options: dict[str, Any] = Field(default_factory=dict)
    duplicate_threshold: float = Field(default=0.9, gt=0, le=1)
    contamination_threshold: float = Field(default=0.85, gt=0, le=1)


class RoundSettings(Settings):
    """How a round spends model calls. None of these changes what is accepted."""

    repair: bool = Field(
        default=True,
        description="One repair turn when the question's program disagrees with its answer "
        "(code-first: when the program fails or returns no answer).",
    )
    harder: bool = Field(
        default=True,
        description="One 'make it harder' turn when the Defender solves the question.",
    )
    drafts: int | None = Field(
        default=None,
        ge=1,
        le=8,
        description="The Attacker's drafts per turn, from one prompt. Every draft takes the "
        "free checks (copy, steps, the domain's screen, novelty) and is a candidate line; "
        "those that pass go on to the Defender and the Judge, in order. Default: as many as "
        "the Attacker's backend decodes together for the price of about one "
        "(llamacpp-server: its parallel slots; others: 1).",
    )
    defender_samples: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Defender answers per question; the pass rate is recorded and bounded "
        "by acceptance.max_pass_rate (the first answer is at the Defender's temperature).",
    )
    seeded: bool = Field(
        default=True,
        description="Seeded attacks: the Attacker builds a harder variant of a real problem "
        "(from `seeds`, else the domain's own training problems, if it ships any).",
    )
    seeds: str | None = Field(
        default=None,
        description="DOMAIN:FORMAT:PATH of problems the Attacker builds harder variants of.",
    )
    remember_rejected: bool = Field(
        default=True,
        description="A question close to one this run already rejected is not played again.",
    )


class JudgeSettings(Settings):
    samples: int = Field(default=1, ge=1, le=9, description="Judge k times; record the spread.")
    flag_inconsistent: bool = True
    tools: list[str] = Field(
        default_factory=list,
        description="Judge tools to consult besides the domain's own, by id (any installed "
        "tool that declares when it applies), e.g. finance.compound_interest.",
    )


class RunConfig(Settings):
    @model_validator(mode="before")
    @classmethod
    def _defender_default(cls, data: Any) -> Any:
        # [defender] with options but no spec still means the default Defender
        if isinstance(data, dict) and isinstance(data.get("defender"), dict):
            if "spec" not in data["defender"]:
                data = {**data, "defender": {"spec": DEFAULT_DEFENDER, **data["defender"]}}
        return data

    domain: str = "math"
    attacker: RoleModel = Field(default_factory=RoleModel, description="Model A.")
    defender: RoleModel = Field(
        default_factory=lambda: RoleModel(spec=DEFAULT_DEFENDER), description="Model B."
    )
    judge: RoleModel = Field(default_factory=RoleModel)
    alternate: bool = Field(default=False, description="A attacks B, then B attacks A.")
    target: int = Field(default=200, ge=1)
    seed: int = 0
    lanes: int = Field(default=1, ge=1, le=256)
    out: Path | None = Field(default=None, strict=False)  # TOML has no path type
    budget: Budget = Field(default_factory=Budget)
    acceptance: Acceptance = Field(default_factory=Acceptance)
    novelty: NoveltySettings = Field(default_factory=NoveltySettings)
    judging: JudgeSettings = Field(default_factory=JudgeSettings)
    rounds: RoundSettings = Field(default_factory=RoundSettings)
    prompts: dict[str, str] = Field(default_factory=dict)
    profile_size: int = Field(default=5, ge=0, description="Recent items shown to the Attacker.")


def _error_line(exc: ValidationError, source: str) -> ConfigError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    value = first.get("input")
    shown = ""
    if first["type"] not in ("missing", "extra_forbidden") and isinstance(
        value, str | int | float | bool
    ):
        shown = f" (got {clip(json.dumps(value, ensure_ascii=False))})"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{source}: {where}: {first['msg']}{shown}{more}")


def validate_config(data: dict[str, Any], source: str = "configuration") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise _error_line(exc, source) from exc


def apply_override(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """Set ``data[a][b]...`` for ``a.b...``; a scalar in the way is an error, except a
    role's spec string, which is the shorthand for ``{spec = ...}``."""
    node = data
    *parents, leaf = dotted.split(".")
    for depth, key in enumerate(parents):
        child = node.setdefault(key, {})
        if depth == 0 and key in ROLES and isinstance(child, str):
            child = node[key] = {"spec": child}
        if not isinstance(child, dict):
            path = ".".join(parents[: depth + 1])
            raise ConfigError(
                f"{source}: {path} is {clip(repr(child))}, not a table, so {dotted} cannot be set",
                hint=f"make it a table: [{path}]",
            )
        node = child
    node[leaf] = value


def check_out_dir(path: Path) -> None:
    """A run directory must be a folder, or not exist under a folder we can write."""
    where = f"--out {path}"
    try:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{where}: is a file, not a folder")
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"{where}: {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            # access() also reports a read-only filesystem, for root too
            raise ConfigError(f"{where}: {existing} is not writable")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: {describe(exc)}") from None


def load_config(
    path: Path | None, overrides: dict[str, Any] | None = None, *, check_out: bool = True
) -> RunConfig:
    """Read a TOML file (or nothing), apply dotted-key overrides, and validate.

    With ``check_out``, an ``out`` that no run could write to is an error now, not
    after the models are loaded.
    """
    data: dict[str, Any] = {}
    source = "command line"
    if path is not None:
        source = str(path)
        data = load_toml(path, error=ConfigError)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            apply_override(data, dotted, value, source)
    config = validate_config(data, source)
    if check_out and config.out is not None:
        check_out_dir(config.out)
    return config


def dump_config(config: RunConfig) -> str:
    """TOML of the resolved configuration, with secret-looking values masked."""
    import tomli_w

    from .secrets import scrub

    return tomli_w.dumps(scrub(config.model_dump(mode="json", exclude_none=True)))
