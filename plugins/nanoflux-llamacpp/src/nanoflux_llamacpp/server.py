"""llama-server processes: one per model file and load options, shared by every backend
that opens the model the same way (as :mod:`.models` shares loaded models), and
supervised by this process.

- It listens on 127.0.0.1 at a port the kernel picks (``--port 0``), read back from the
  server's "listening on" line: no port is chosen here, so none can be taken meanwhile.
- It is ready when ``/health`` answers 200.
- It is spawned from one long-lived thread with ``PR_SET_PDEATHSIG``, so it dies with
  this process even when this process is killed (Linux ties that signal to the thread
  that forked, so a short-lived worker thread would take the server with it).
- The last backend's ``aclose`` stops it (SIGTERM, then SIGKILL), and so does the
  interpreter's exit.
- Its end is one line: the exit status or signal, and the last line it wrote.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nanoflux.errors import BackendUnavailable, clip, clip_path

from . import server_binary
from .lora import LoraFile
from .options import ServerOptions

PR_SET_PDEATHSIG = 1
LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
TAIL_BYTES = 8192


class ServerCrashed(BackendUnavailable):
    """The llama-server process ended: every later call would fail the same way."""

    cause = "server_crashed"
    stops_run = True


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


#: the thread every server is forked from; it lives as long as the interpreter
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoflux-llama-server")


def exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class LlamaServer:
    def __init__(
        self,
        key: tuple[Any, ...],
        model: Path,
        options: ServerOptions,
        lora: LoraFile | None = None,
    ):
        self.key = key
        self.model = model
        self.options = options
        self.lora = lora
        self.binary = server_binary.require()
        self.users = 0
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.startup_seconds = 0.0
        self.variant: str | None = None
        self._log = tempfile.TemporaryFile(prefix="nanoflux-llama-server-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        o = self.options
        threads = str(o.n_threads)
        return [
            str(self.binary.path),
            *("--model", str(self.model), "--host", "127.0.0.1", "--port", "0"),
            *("--parallel", str(o.parallel), "--ctx-size", str(o.n_ctx * o.parallel)),
            *("--threads", threads, "--threads-batch", threads, "--batch-size", str(o.n_batch)),
            *("--n-gpu-layers", str(o.n_gpu_layers), "--cache-reuse", str(o.cache_reuse)),
            *("--cache-ram", str(o.cache_ram_mib), "--no-webui"),
            *(("--lora", str(self.lora.path)) if self.lora else ()),
        ]

    def start(self) -> LlamaServer:
        env, self.variant = server_binary.environment()
        started = time.monotonic()
        self.process = _spawner.submit(self._spawn, env).result()
        _live[id(self)] = self
        try:
            self._wait_ready(started + self.options.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = round(time.monotonic() - started, 2)
        return self

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # ggml looks for CPU variants beside the binary and in the working
            # directory; the cache folder has none, so only GGML_BACKEND_PATH's loads
            cwd=self.binary.path.parent,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            ended = self.exit_error("while loading the model")
            if ended is not None:
                raise ended
            if not self.port:
                found = LISTENING.search(self._read_log())
                self.port = int(found.group(1)) if found else 0
            if self.port and self._healthy():
                return
            time.sleep(0.1)
        raise BackendUnavailable(
            f"llama-server did not become ready within {self.options.startup_timeout:.0f} s "
            f"for {clip_path(self.model)}; its last line: {clip(self.last_line(), 240)}",
            hint="raise the startup_timeout option, or check the model loads with llamacpp:",
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _read_log(self, limit: int | None = None) -> bytes:
        size = os.fstat(self._log.fileno()).st_size
        start = 0 if limit is None else max(0, size - limit)
        return os.pread(self._log.fileno(), size - start, start)

    def last_line(self) -> str:
        if self._log.closed:
            return "(log closed)"
        lines = self._read_log(TAIL_BYTES).decode("utf-8", "replace").splitlines()
        written = [line.strip() for line in lines if line.strip()]
        return written[-1] if written else "(nothing)"

    def exit_error(self, when: str = "") -> ServerCrashed | None:
        """The one-line error for a server that has ended; None while it runs."""
        process = self.process
        code = process.poll() if process is not None else None
        if code is None:
            return None
        during = f" {when}" if when else ""
        return ServerCrashed(
            f"llama-server (pid {process.pid}) for {self.model.name} {exit_status(code)}"
            f"{during}; its last line: {clip(self.last_line(), 240)}",
            hint="nanoflux doctor checks the server; NANOFLUX_GGML_CPU picks another CPU variant",
        )

    def wait_exit(self, seconds: float) -> ServerCrashed | None:
        """After a broken connection: the exit error once the process is gone, if it goes."""
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=seconds)
        return self.exit_error()

    def stop(self) -> None:
        process = self.process
        _live.pop(id(self), None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if not self._log.closed:
            self._log.close()

    def describe(self) -> dict[str, Any]:
        return {
            "binary": str(self.binary.path),
            "build": self.binary.record,
            "command": self.command()[1:],
            "pid": self.process.pid if self.process else None,
            "cpu_variant": self.variant,
            "startup_seconds": self.startup_seconds,
        }


_live: dict[int, LlamaServer] = {}
_servers: dict[tuple[Any, ...], LlamaServer] = {}
_servers_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    for server in list(_live.values()):
        server.stop()


def acquire(model: Path, options: ServerOptions, lora: LoraFile | None = None) -> LlamaServer:
    """The running server for this file, adapter and load options, started on first use.
    A server started with an adapter applies it to every request, so it serves that
    adapter only: never the base, nor another adapter."""
    key = (str(model), lora and (str(lora.path), lora.digest), *options.load_key())
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.exit_error() is not None:
            server = LlamaServer(key, model, options, lora).start()
            _servers[key] = server
        server.users += 1
        return server


def release(server: LlamaServer) -> None:
    """Drop one user; the last one stops the server."""
    with _servers_lock:
        server.users -= 1
        if server.users > 0:
            return
        if _servers.get(server.key) is server:
            del _servers[server.key]
    server.stop()


def running_count() -> int:
    with _servers_lock:
        return sum(1 for s in _servers.values() if s.exit_error() is None)
