"""The run configuration: a TOML file, overridden by command-line flags."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from .errors import ConfigError
from .records import Record

DEFAULT_MODEL = "llamacpp:default"


class RoleModel(Record):
    """A model spec plus backend options (temperature, max_tokens, n_ctx, ...)."""

    spec: str = DEFAULT_MODEL
    options: dict[str, Any] = Field(default_factory=dict)


class Budget(Record):
    """The run stops at whichever limit comes first (or at the target)."""

    max_rounds: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_minutes: float | None = Field(default=None, gt=0)
    patience: int | None = Field(
        default=100,
        ge=1,
        description="Stop after this many rounds in a row without an accepted example.",
    )


class Acceptance(Record):
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

    @model_validator(mode="after")
    def _bands(self) -> Acceptance:
        if self.quality_min > self.quality_max:
            raise ValueError("quality_min is above quality_max")
        if self.hops_min > self.hops_max:
            raise ValueError("hops_min is above hops_max")
        return self


class NoveltySettings(Record):
    enabled: bool = True
    embedder: str = "fastembed"
    embedder_options: dict[str, Any] = Field(default_factory=dict)
    store: str = "qdrant"
    store_options: dict[str, Any] = Field(default_factory=dict)
    duplicate_threshold: float = Field(default=0.9, gt=0, le=1)
    contamination_threshold: float = Field(default=0.85, gt=0, le=1)


class JudgeSettings(Record):
    samples: int = Field(default=1, ge=1, le=9, description="Judge k times; record the spread.")
    flag_inconsistent: bool = True


class RunConfig(Record):
    domain: str = "math"
    attacker: RoleModel = Field(default_factory=RoleModel, description="Model A.")
    defender: RoleModel = Field(default_factory=RoleModel, description="Model B.")
    judge: RoleModel = Field(default_factory=RoleModel)
    alternate: bool = Field(default=True, description="A attacks B, then B attacks A.")
    target: int = Field(default=200, ge=1)
    seed: int = 0
    lanes: int = Field(default=1, ge=1, le=256)
    out: Path | None = None
    budget: Budget = Field(default_factory=Budget)
    acceptance: Acceptance = Field(default_factory=Acceptance)
    novelty: NoveltySettings = Field(default_factory=NoveltySettings)
    judging: JudgeSettings = Field(default_factory=JudgeSettings)
    prompts: dict[str, str] = Field(default_factory=dict)
    profile_size: int = Field(default=5, ge=0, description="Recent items shown to the Attacker.")


def _error_line(exc: ValidationError, source: str) -> ConfigError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(f"{source}: {where}: {first['msg']}{more}")


def validate_config(data: dict[str, Any], source: str = "configuration") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise _error_line(exc, source) from exc


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a TOML file (or nothing), apply dotted-key overrides, and validate."""
    data: dict[str, Any] = {}
    source = "command line"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return validate_config(data, source)


def dump_config(config: RunConfig) -> str:
    """TOML of the resolved configuration, with secret-looking values masked."""
    import tomli_w

    from .secrets import scrub

    return tomli_w.dumps(scrub(config.model_dump(mode="json", exclude_none=True)))
