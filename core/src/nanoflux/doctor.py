"""``nanoflux doctor``: prove, on this machine, that every installed part really runs.

Each check runs in a child process (this Python, ``-m nanoflux.doctor``), because the
things worth checking are native libraries: a llama.cpp built for another CPU dies
with SIGSEGV or SIGILL, and that must become one line of the report, not the end of
the command. The child reports the stage it reached as JSON lines on stdout, so the
parent can say *when* it died ("during the first completion") and pass on what the
backend said about itself before that (its ``describe()``, which may carry a
``build`` record with a ``crash_hint``).

A backend is checked with the offline default model its plugin names by setting
``offline_default`` on the registered factory (``open_x.offline_default =
"x:default"``); a backend without one is skipped with that reason, since doctor never
reaches for the network. Embedders get one embedding, novelty stores an open and a
close in a scratch ``NANOFLUX_HOME``, and the sandbox runs one program under bubblewrap.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from .records import Record

Status = Literal["ok", "failed", "skipped"]

#: seconds a check may take before it counts as hung. A cold 1.5B model on 2 quiet cores
#: loads and answers in well under a minute, but CI shares its cores: with four other
#: model processes running, opening hf:default (torch, transformers) took over 150 s.
TIMEOUTS = {"backend": 300.0, "embedder": 180.0, "store": 120.0, "sandbox": 120.0}

PROBE_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PROBE_PROGRAM = "def solution():\n    return sum(range(10))\n"


class CheckResult(Record):
    check: str = Field(description="what was checked: 'backend llamacpp', 'sandbox', ...")
    status: Status
    detail: str
    seconds: float = 0.0
    facts: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    kind: str  # backend, embedder, store, sandbox, bubblewrap
    name: str = ""
    extra_plugins: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}".strip()

    def argv(self) -> list[str]:
        plugins = [arg for module in self.extra_plugins for arg in ("--plugin", module)]
        return [sys.executable, "-m", "nanoflux.doctor", self.kind, self.name, *plugins]


# -- the parent: plan, run each check in a child, read what it said ------------------------


def plan(host: Any, extra_plugins: Sequence[str] = ()) -> list[Check]:
    """One check per backend, embedder and store the host knows, then the sandbox."""
    extra = tuple(extra_plugins)
    checks = [Check("backend", prefix, extra) for prefix in host.backends.ids()]
    checks += [Check("embedder", name, extra) for name in host.embedders.ids()]
    checks += [Check("store", name, extra) for name in host.stores.ids()]
    checks += [Check("sandbox"), Check("bubblewrap")]
    return checks


def load_errors(host: Any) -> list[CheckResult]:
    """A plugin that failed to load is a failed check: it provides nothing to check."""
    return [
        CheckResult(check=f"plugin {error.plugin}", status="failed", detail=error.error)
        for error in host.errors
    ]


def run_checks(
    checks: Iterable[Check],
    *,
    parallel: int = 2,
    env: dict[str, str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run every check in its own child process; results in the order of ``checks``."""
    checks = list(checks)
    base_env = {**os.environ, **(env or {})}

    def one(check: Check) -> CheckResult:
        result = run_child(check, base_env)
        if on_result:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, checks))


def run_child(check: Check, env: dict[str, str]) -> CheckResult:
    if check.kind == "bubblewrap":  # a version string needs no child of our own
        return bubblewrap_version()
    timeout = TIMEOUTS.get(check.kind, 60.0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nanoflux-doctor-") as scratch:
        child_env = dict(env)
        if check.kind == "store":  # never touch the user's own stores
            child_env["NANOFLUX_HOME"] = scratch
        try:
            done = subprocess.run(
                check.argv(), capture_output=True, text=True, env=child_env, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            return read_child(check, stdout, "", None, time.monotonic() - started, timeout)
    return read_child(check, done.stdout, done.stderr, done.returncode, time.monotonic() - started)


def read_child(
    check: Check,
    stdout: str,
    stderr: str,
    returncode: int | None,
    seconds: float,
    timed_out: float | None = None,
) -> CheckResult:
    """Turn what a child printed (and how it ended) into one result."""
    stage, facts, final = "starting", {}, None
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue  # a native library writing to stdout
        if not isinstance(message, dict):
            continue
        stage = message.get("stage", stage)
        facts.update(message.get("facts") or {})
        if "status" in message:
            final = message
    seconds = round(seconds, 2)
    if final is not None and returncode == 0:
        return CheckResult(
            check=check.label,
            status=final["status"],
            detail=final["detail"],
            seconds=seconds,
            facts=facts,
        )
    if timed_out is not None:
        why = f"did not finish within {timed_out:.0f} s ({stage})"
    elif returncode is not None and returncode < 0:
        why = f"crashed ({signal_name(-returncode)}) {stage}"
        hint = (facts.get("build") or {}).get("crash_hint")
        if hint:
            why += f"; {hint}"
    else:
        last = [line for line in stderr.strip().splitlines() if line.strip()]
        why = f"failed {stage}: {last[-1] if last else f'exit status {returncode}'}"
    return CheckResult(check=check.label, status="failed", detail=why, seconds=seconds, facts=facts)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def bubblewrap_version() -> CheckResult:
    from .sandbox import bubblewrap

    started = time.monotonic()
    binary = bubblewrap.bwrap()
    if binary is None:
        return CheckResult(
            check="bubblewrap",
            status="failed",
            detail="bwrap is not installed; sandboxed judge tools refuse to run "
            "(install the bubblewrap package; scripts/setup.sh does as root)",
        )
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        version = (done.stdout or done.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(check="bubblewrap", status="failed", detail=f"{binary}: {exc}")
    return CheckResult(
        check="bubblewrap",
        status="ok" if done.returncode == 0 else "failed",
        detail=f"{version} ({binary})",
        seconds=round(time.monotonic() - started, 2),
        facts={"bwrap": binary, "version": version},
    )


# -- the child: one check, reporting each stage before it starts ---------------------------


def say(**message: Any) -> None:
    print(json.dumps(message, default=str), flush=True)


def child(kind: str, name: str, plugins: Sequence[str]) -> None:
    if kind == "sandbox":
        return check_sandbox()
    from .plugins import PluginHost

    say(stage="while loading plugins")
    host = PluginHost.load(extra=[(m, importlib.import_module(m)) for m in plugins])
    if kind == "backend":
        asyncio.run(check_backend(host, name))
    elif kind == "embedder":
        check_embedder(host, name)
    elif kind == "store":
        check_store(host, name)
    else:
        raise SystemExit(f"unknown check {kind!r}")


async def check_backend(host: Any, prefix: str) -> None:
    from .backends import CompletionRequest
    from .records import ChatMessage

    factory = host.backends.get(prefix)
    spec = getattr(factory, "offline_default", None)
    if not spec:
        say(
            status="skipped",
            detail=f"{prefix}: no offline default model (its plugin names none; "
            "doctor does not reach for servers or the network)",
        )
        return
    say(stage=f"while opening {spec}")
    backend = host.open_backend(spec)
    try:
        facts = backend.describe()
        say(stage="during the first completion", facts=facts)
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content="What is 2 + 3? Reply as JSON.")],
            json_schema=PROBE_SCHEMA,
            max_tokens=32,
            temperature=0.0,
            seed=0,
        )
        completion = await backend.complete(request)
        say(stage="while closing the model")
    finally:
        await backend.aclose()
    if completion.data is None:
        say(
            status="failed",
            detail=f"{spec}: the structured reply did not validate: {completion.text[:80]!r}",
        )
        return
    build = facts.get("build") or {}
    reply = json.dumps(completion.data)
    detail = f"{spec} answered {reply} in {completion.seconds:.1f} s"
    if build.get("summary"):
        detail += f"; build: {build['summary']}"
    if build.get("portable") is False:
        say(status="failed", detail=f"{detail}; {build.get('problem', 'not a portable build')}")
        return
    say(status="ok", detail=detail)


def check_embedder(host: Any, name: str) -> None:
    say(stage=f"while opening embedder {name}")
    embedder = host.open_embedder(name)
    say(stage="during the first embedding", facts={"embedder": embedder.describe()})
    vectors = embedder.embed(["A baker sells 35 of 90 rolls. How many are left?"])
    dimension = len(vectors[0])
    say(status="ok", detail=f"{name}: one embedding of dimension {dimension}")


def check_store(host: Any, name: str) -> None:
    say(stage=f"while opening novelty store {name}")
    store = host.open_store(name)
    try:
        say(stage="while creating a collection")
        store.ensure_collection("doctor", 8)
        count = store.count("doctor")
        say(stage="while closing the store")
    finally:
        store.close()
    say(status="ok", detail=f"{name}: opened, created a collection ({count} items), closed")


def check_sandbox() -> None:
    from .sandbox import run_python

    say(stage="while running a program in the sandbox")
    result = run_python(PROBE_PROGRAM)
    if not result.ok or result.value != 45:
        say(status="failed", detail=f"the sandboxed program failed: {result.cause} {result.error}")
        return
    say(
        status="ok",
        detail=f"a sandboxed program returned {result.value} in {result.seconds:.2f} s "
        f"(bounded by {result.bounded_by})",
    )


def main(argv: Sequence[str]) -> None:
    args = list(argv)
    plugins = []
    while "--plugin" in args:
        at = args.index("--plugin")
        plugins.append(args[at + 1])
        del args[at : at + 2]
    kind, name = [*args, "", ""][:2]
    from .errors import NanofluxError

    try:
        child(kind, name, plugins)
    except NanofluxError as exc:
        say(status="failed", detail=exc.one_line())


if __name__ == "__main__":
    main(sys.argv[1:])
