"""The server store's code path. No Qdrant server runs here, so the client talks to
qdrant-client's own in-process implementation of the same API (``:memory:`` / ``path``),
which is what the client would send to a server, minus the HTTP."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from nanoflux_qdrant import open_qdrant
from nanoflux_qdrant.server import ServerStore, public_url
from qdrant_client import QdrantClient

from nanoflux.errors import MissingSecret, StoreError
from nanoflux.testing import NoveltyStoreContract
from nanoflux.testing.store import item

pytestmark = [
    # qdrant-client's in-process stand-in for a server says so; a real server indexes
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
    # the refusing test server speaks plain HTTP on localhost
    pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection:UserWarning"),
]


class TestServerStore(NoveltyStoreContract):
    registered_as = "qdrant"

    @pytest.fixture
    def store(self):
        store = ServerStore(QdrantClient(location=":memory:"), where=":memory:")
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, tmp_path):
        # a server keeps data across clients; a second client on the same folder does too
        def again(store):
            store.close()
            return ServerStore(QdrantClient(path=str(tmp_path / "server")), where="local")

        return again

    def test_persistence(self, reopen, tmp_path):
        first = ServerStore(QdrantClient(path=str(tmp_path / "server")), where="local")
        super().test_persistence(first, reopen)


def test_url_credentials_never_reach_the_description():
    assert public_url("https://user:secret@qdrant.example:6333/base") == (
        "https://qdrant.example:6333/base"
    )


class RefusingServer(BaseHTTPRequestHandler):
    """Answers every request 401, like a Qdrant server whose key is wrong, and keeps the
    API-key headers it saw."""

    seen: ClassVar[list[str | None]] = []

    def _refuse(self):
        RefusingServer.seen.append(self.headers.get("api-key"))
        body = b'{"status": {"error": "Must provide an API key"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingServer)
    RefusingServer.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_api_key_comes_from_the_named_variable_and_is_never_shown(
    monkeypatch, caplog, refusing_server
):
    monkeypatch.setenv("MY_QDRANT_KEY", "sk-very-secret")
    caplog.set_level(logging.DEBUG)
    store = open_qdrant({"url": refusing_server, "api_key_env": "MY_QDRANT_KEY"})
    try:
        with pytest.raises(MissingSecret, match="MY_QDRANT_KEY") as err:
            store.ensure_collection("c", 8)
        assert RefusingServer.seen and set(RefusingServer.seen) == {"sk-very-secret"}
        assert "sk-very-secret" not in str(err.value)
        assert "sk-very-secret" not in repr(store.describe())
        assert "sk-very-secret" not in caplog.text
    finally:
        store.close()


def test_an_unreachable_server_is_one_clear_error():
    # nothing listens on port 9 (discard)
    store = open_qdrant({"url": "http://127.0.0.1:9", "timeout": 2})
    try:
        with pytest.raises(StoreError, match=r"Qdrant at http://127.0.0.1:9 is unreachable"):
            store.ensure_collection("c", 8)
    finally:
        store.close()


def test_open_with_url_gives_the_server_store():
    store = open_qdrant({"url": "http://127.0.0.1:9"})
    try:
        assert isinstance(store, ServerStore)
        assert store.describe()["mode"] == "server"
    finally:
        store.close()


def test_kind_counts_on_the_server_path():
    store = ServerStore(QdrantClient(location=":memory:"), where=":memory:")
    store.ensure_collection("c", 8)
    store.add("c", [item("a", 1), item("p", 2, kind="protected"), item("q", 3, kind="protected")])
    assert store.count("c", kind="protected") == 2
    assert store.count("c") == 3
    store.close()
