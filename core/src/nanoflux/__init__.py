"""NanoFlux: small, verified fine-tuning datasets from adversarial model rounds.

The public API is this module and the modules :data:`PUBLIC_MODULES` names; plugins and
domain packs import nothing else of ``nanoflux`` (``tests/test_boundary.py`` reads every
import in them), and CONTRIBUTING shows the same list. A package on the list is public
through what its ``__init__`` exports; its submodules are not.
"""

from __future__ import annotations

from .hookspecs import hookimpl
from .version import __version__

#: The modules plugins may import, each with what a plugin takes from it.
PUBLIC_MODULES: dict[str, str] = {
    "nanoflux": "`hookimpl`, `__version__`, `run(config, host)`",
    "nanoflux.hookspecs": "the hooks, each parameter documented",
    "nanoflux.records": "`Record`, `Question`, `BenchmarkItem`, `ChatMessage` ...",
    "nanoflux.errors": "the error types, each shown as one line",
    "nanoflux.backends": "`Backend`, `ModelSpec`, `CompletionRequest`, `Completion`, "
    "`backend_options`",
    "nanoflux.novelty": "`Embedder`, `NoveltyStore`, `StoredItem`, `Neighbor`",
    "nanoflux.tools": "`JudgeTool`, `@judge_tool`",
    "nanoflux.domains": "`Domain`, `PromptSet`, `Verification`, `BenchmarkSpec`",
    "nanoflux.kit": "what domain packs share: `python_tool`, `consult`, `jsonl_benchmark` ...",
    "nanoflux.answers": "answer-checking primitives: choices, numbers at their precision",
    "nanoflux.structured": "one JSON object out of a model's text, checked against a schema",
    "nanoflux.training": "`Trainer`, `TrainOptions`, `TrainResult`",
    "nanoflux.evaluation": "evaluating a model on a benchmark, and comparing two",
    "nanoflux.inputs": "reading user files, every fault one located error line",
    "nanoflux.sandbox": "`run_python`: untrusted code, isolated",
    "nanoflux.paths": "`home()`: where state that outlives a run lives",
    "nanoflux.storage": "`write_atomic()`: writing a file whole, never through a link",
    "nanoflux.machine": "`available_cpus()`, `default_threads()`: sizing compute libraries",
    "nanoflux.secrets": "`mask_urls()`, `scrub()`: keeping keys out of what is written",
    "nanoflux.cli": "`current_host()`, for the commands `register_commands` adds",
    "nanoflux.testing": "the contract suites a plugin's tests subclass",
}

__all__ = ["PUBLIC_MODULES", "__version__", "hookimpl", "run"]


def __getattr__(name: str):
    # The engine imports more than the CLI needs at start-up; load it on first use.
    if name == "run":
        from .engine import run

        return run
    raise AttributeError(name)
