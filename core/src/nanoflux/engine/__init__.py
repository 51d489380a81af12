"""The adversarial engine: Attacker/Defender/Judge rounds that fill a run directory."""

from .runner import Progress, Run, RunResult, run, run_async

__all__ = ["Progress", "Run", "RunResult", "run", "run_async"]
