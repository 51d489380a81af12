"""Fixtures: a real llama_cpp.server on 127.0.0.1, and a fault-injecting proxy in front of it.

A small HTTP proxy on 127.0.0.1 that forwards to a real server, or misbehaves on cue.

Each POST takes the first matching ``rule`` (a function of the request body that names
a fault), else the next fault from ``faults``, else is forwarded untouched. Faults:

* ``("429", retry_after)``, ``("503", retry_after)``: an error status, with ``Retry-After``
  when given (seconds or an HTTP date);
* ``"500"``: an internal server error;
* ``"stall"``: accept and say nothing (until the proxy stops or ``stall_seconds``);
* ``"drop"``: close the connection without a reply;
* ``"truncate"``: forward, then send half of the real body under the full Content-Length;
* ``"not_json"``: a 200 HTML page; ``"bad_json"``: a 200 ``application/json`` that is not JSON;
* ``"garbage"``: forward, but replace the model's reply text with something not JSON;
* ``("reply", text)``: forward, but replace the model's reply text with ``text``;
* ``"refuse_format"``: a 400 saying response_format is not supported;
* ``("400", message)``: a 400 with that error message;
* ``("echo_key_401",)``: a 401 that quotes the Authorization header back, as OpenAI does.

Every request body, path and Authorization header is recorded, and so is the peak
number of requests in flight.
"""

from __future__ import annotations

import collections
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from nanoflux_openai.local_server import LocalServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # clients hang up on stalls and timeouts by design; anything else is a test bug
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultProxy:
    def __init__(self, upstream_base_url: str, stall_seconds: float = 30.0):
        parts = urlsplit(upstream_base_url)
        self.upstream = (parts.hostname, parts.port)
        self.stall_seconds = stall_seconds
        self.faults: collections.deque = collections.deque()
        self.rules: list = []
        self.bodies: list[dict] = []
        self.authorizations: list[str] = []
        self.paths: list[str] = []
        self.served: list[str] = []  # the fault (or "forward") each request got
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self, body: dict):
        for rule in self.rules:
            fault = rule(body)
            if fault:
                return fault
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def forward(self, method: str, path: str, payload: bytes, headers: dict):
        connection = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            connection.request(method, path, body=payload or None, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.getheader("content-type", "application/json"), reply.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body: bytes, content_type="application/json", headers=()):
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                status, content_type, body = proxy.forward("GET", self.path, b"", {})
                self._send(status, body, content_type)

            def do_POST(self):
                payload = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(payload or b"{}")
                authorization = self.headers.get("authorization", "")
                with proxy._lock:
                    proxy.bodies.append(body)
                    proxy.authorizations.append(authorization)
                    proxy.paths.append(self.path)
                    proxy.in_flight += 1
                    proxy.peak = max(proxy.peak, proxy.in_flight)
                try:
                    self._serve(payload, body, authorization)
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

            def _serve(self, payload, body, authorization):
                fault = proxy._next_fault(body)
                name, *args = fault if isinstance(fault, tuple) else (fault,)
                with proxy._lock:
                    proxy.served.append(name or "forward")
                headers = {"content-type": "application/json"}
                if name in ("429", "503"):
                    retry = [("retry-after", str(args[0]))] if args and args[0] is not None else []
                    error = {"error": {"message": f"fault {name}", "type": "fault"}}
                    self._send(int(name), json.dumps(error).encode(), headers=retry)
                elif name == "500":
                    self._send(500, b'{"error": {"message": "internal fault"}}')
                elif name == "400":
                    self._send(400, json.dumps({"error": {"message": args[0]}}).encode())
                elif name == "refuse_format":
                    message = "response_format of this type is not supported by this server"
                    self._send(400, json.dumps({"error": {"message": message}}).encode())
                elif name == "echo_key_401":
                    key = authorization.removeprefix("Bearer ")
                    message = f"Incorrect API key provided: {key}. Find your key at ..."
                    self._send(401, json.dumps({"error": {"message": message}}).encode())
                elif name == "stall":
                    proxy._stopping.wait(proxy.stall_seconds)
                    self.close_connection = True
                elif name == "drop":
                    self.close_connection = True
                elif name == "not_json":
                    self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")
                elif name == "bad_json":
                    self._send(200, b'{"choices": [ {"message": ')
                elif name in ("truncate", "garbage", "reply", None):
                    status, content_type, reply = proxy.forward("POST", self.path, payload, headers)
                    if name in ("garbage", "reply") and status == 200:
                        text = args[0] if name == "reply" else "Sure! The answer is five."
                        data = json.loads(reply)
                        data["choices"][0]["message"]["content"] = text
                        reply = json.dumps(data).encode()
                    if name == "truncate":
                        self.send_response(status)
                        self.send_header("content-type", content_type)
                        self.send_header("content-length", str(len(reply)))
                        self.end_headers()
                        self.wfile.write(reply[: len(reply) // 2])
                        self.close_connection = True
                    else:
                        self._send(status, reply, content_type)
                else:
                    raise ValueError(f"unknown fault {name!r}")

        return Handler


@pytest.fixture(scope="session")
def server():
    """A real llama_cpp.server serving the bundled SmolLM2-135M; always stopped."""
    with LocalServer(n_ctx=2048) as running:
        yield running


@pytest.fixture
def proxy(server):
    running = FaultProxy(server.base_url, stall_seconds=20).start()
    yield running
    running.stop()
