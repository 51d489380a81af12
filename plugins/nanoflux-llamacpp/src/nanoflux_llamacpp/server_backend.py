"""The ``llamacpp-server:`` backend: the same GGUF models, served by llama.cpp's own server.

One llama-server per model file and load options (:mod:`.server`) decodes ``parallel``
sequences together (continuous batching), so ``max_concurrency = parallel`` lets the
engine's lanes compute at once instead of queueing on one context. Requests are the
body :meth:`LlamaBackend.call_arguments` builds for llama-cpp-python, which llama-server's
OpenAI-compatible ``/v1/chat/completions`` takes as it is, and replies are read by the
same code: only the transport differs. For a ``response_format`` schema the server
builds its grammar with llama.cpp's own converter, which keeps control characters out
of JSON strings but lets the model indent (``{\n    "answer": 2\n}``: a few tokens more
per object than llama-cpp-python's compact grammar). Its raw ``grammar`` field is no
way around that: llama-cpp-python's grammar lets a string run on through newlines, and
SmolLM2 wrote prose inside ``"final_answer"`` until the token limit. A server that ends is a
:class:`~.server.ServerCrashed` naming its exit status or signal and its last line.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

import httpx

from nanoflux.backends import Completion, CompletionRequest, ModelSpec
from nanoflux.errors import BackendError, BackendTimeout, BackendUnavailable, clip

from . import server
from .backend import LlamaBackend
from .lora import resolve_weights
from .options import ServerOptions, parse_server_options


class LlamaServerBackend(LlamaBackend):
    backend_id = "llamacpp-server"

    def __init__(self, spec: ModelSpec, options: ServerOptions, process: server.LlamaServer):
        super().__init__(spec, options, process.model, process.lora)
        self.options: ServerOptions = options
        self.max_concurrency = self.drafts_together = options.parallel
        self._server: server.LlamaServer | None = process
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    @property
    def server(self) -> server.LlamaServer | None:
        """The server process this backend talks to (shared); None once closed."""
        return self._server

    def _client(self) -> httpx.AsyncClient:
        """One connection pool per event loop (an httpx client belongs to its loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            limits = httpx.Limits(max_connections=self.options.parallel + 2)
            timeout = httpx.Timeout(self.options.timeout, connect=10.0)
            client = self._clients[loop] = httpx.AsyncClient(limits=limits, timeout=timeout)
        return client

    #: llama-server continues a last assistant message (its ``--prefill-assistant``, on by
    #: default) and names the stop string a reply ended on in ``__verbose``
    continues_replies = True

    async def complete(self, request: CompletionRequest) -> Completion:
        body = self.call_arguments(request)
        if request.stop:
            body |= {"stop": request.stop, "verbose": True}
        reply, seconds = await self._post(body)
        completion = self._completion(reply, seconds, request.json_schema)
        last = request.messages[-1]
        if last.role == "assistant" and completion.text.startswith(last.content):
            completion.text = completion.text[len(last.content) :]  # the reply, not the prefill
        ended = reply.get("__verbose") or {}
        if request.stop and ended.get("stop_type") == "word":
            completion.stop_sequence = ended.get("stopping_word") or None
        return completion

    async def complete_n(self, request: CompletionRequest, n: int) -> list[Completion]:
        """``n`` replies to one request from one server task (``n_cmpl``): the prompt is
        read once, its state copied to ``n - 1`` more slots, and the replies decoded
        together, the ``j``-th with seed ``seed + j``. At most ``parallel`` at a time (a
        task waits for that many free slots). The response counts the first reply's
        tokens only; the others' are counted by the server's tokenizer, and their
        prompt, read once, is counted once."""
        if n == 1:
            return [await self.complete(request)]
        replies: list[Completion] = []
        while len(replies) < n:
            part = min(self.options.parallel, n - len(replies))
            seed = None if request.seed is None else request.seed + len(replies)
            body = {**self.call_arguments(request.model_copy(update={"seed": seed})), "n": part}
            reply, seconds = await self._post(body)
            seconds /= len(reply["choices"])  # each draft's share of the task's time
            replies.append(self._completion(reply, seconds, request.json_schema))
            for choice in range(1, len(reply["choices"])):
                text = reply["choices"][choice]["message"].get("content") or ""
                usage = {"prompt_tokens": 0, "completion_tokens": await self._count(text)}
                replies.append(self._completion(reply, seconds, request.json_schema, choice, usage))
        return replies[:n]

    async def _count(self, text: str) -> int:
        """Tokens in ``text`` by the server's own tokenizer (at least 1: the reply ended)."""
        process = self._server
        if process is None or not text:
            return 1
        response = await self._client().post(f"{process.base_url}/tokenize", json={"content": text})
        if response.status_code != 200:
            raise self._refused(response)
        return max(1, len(response.json().get("tokens", [])))

    async def _post(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """One request to llama-server's chat endpoint: its reply and the seconds it took."""
        process = self._server
        if process is None:
            raise BackendError(f"{self.spec}: the backend is closed")
        ended = process.exit_error()
        if ended is not None:
            raise ended
        self.stats.calls += 1
        started = time.perf_counter()
        try:
            response = await self._client().post(
                f"{process.base_url}/v1/chat/completions", json=body
            )
        except httpx.TimeoutException:
            self.stats.failed += 1
            raise BackendTimeout(
                f"{self.spec}: llama-server sent no reply within {self.options.timeout:.0f} s",
                hint="raise the timeout option",
            ) from None
        except httpx.TransportError as exc:
            self.stats.failed += 1
            # a connection broken by the server's death can arrive before its exit status
            ended = await asyncio.to_thread(process.wait_exit, 3.0)
            raise ended or BackendUnavailable(
                f"{self.spec}: llama-server at {process.base_url}: {type(exc).__name__}: {exc}"
            ) from None
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            self.stats.failed += 1
            raise self._refused(response)
        return response.json(), seconds

    def _refused(self, response: httpx.Response) -> BackendError:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text
        return BackendError(
            f"{self.spec}: llama-server answered {response.status_code}: {clip(message, 240)}",
            hint="raise the n_ctx option" if "context size" in message else None,
        )

    async def aclose(self) -> None:
        process, self._server = self._server, None
        clients, self._clients = list(self._clients.items()), weakref.WeakKeyDictionary()
        loop = asyncio.get_running_loop()
        for client_loop, client in clients:
            if client_loop is loop:
                await client.aclose()
        if process is not None:
            await asyncio.to_thread(server.release, process)

    def variant_in_use(self) -> str | None:
        return self._server.variant if self._server is not None else None

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["parallel"] = self.options.parallel
        if self._server is not None:
            described["server"] = self._server.describe()
        return described


def open_server_backend(spec: ModelSpec) -> LlamaServerBackend:
    options = parse_server_options(str(spec), spec.options)
    path, lora = resolve_weights(spec.rest)
    return LlamaServerBackend(spec, options, server.acquire(path, options, lora))
