"""The adversarial engine: Attacker/Defender/Judge rounds that fill a run directory."""

from .runner import Run, RunResult, run, run_async

__all__ = ["Run", "RunResult", "run", "run_async"]
