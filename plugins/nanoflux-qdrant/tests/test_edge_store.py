"""The embedded store (Qdrant Edge, on disk): the contract, persistence, locking, options."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from nanoflux_qdrant import edge as edge_module
from nanoflux_qdrant import open_qdrant
from nanoflux_qdrant.edge import EdgeStore

from nanoflux.errors import ConfigError, StoreError
from nanoflux.novelty import NoveltyGate, StoredItem
from nanoflux.plugins import PluginHost
from nanoflux.testing import NoveltyStoreContract
from nanoflux.testing.store import item, unit


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))


class TestEdgeStore(NoveltyStoreContract):
    registered_as = "qdrant"

    @pytest.fixture
    def store(self, tmp_path):
        store = EdgeStore(tmp_path / "qdrant")
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, tmp_path):
        def again(store):
            store.close()
            return EdgeStore(tmp_path / "qdrant")

        return again


class TestEdgeStoreWithoutQuantization(NoveltyStoreContract):
    registered_as = "qdrant"

    @pytest.fixture
    def store(self, tmp_path):
        store = EdgeStore(tmp_path / "plain", quantization="none")
        yield store
        store.close()


def random_units(count: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_default_path_is_under_nanoflux_home(tmp_path):
    store = open_qdrant({})
    try:
        assert store.root == tmp_path / "home" / "qdrant"
        store.ensure_collection("nanoflux-math-x", 8)
        folder = tmp_path / "home" / "qdrant" / "nanoflux-math-x"
        assert (folder / "protected" / "edge_config.json").exists()
        assert (folder / "accepted" / "edge_config.json").exists()
        assert store.describe()["mode"] == "embedded"
    finally:
        store.close()


def test_dimension_mismatch_after_reopen_names_both_sizes(tmp_path):
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 8)
    store.add("c", [item("a", 1)])
    store.close()
    again = EdgeStore(tmp_path / "q")
    try:
        with pytest.raises(StoreError, match="holds 8-d vectors, not 384-d"):
            again.ensure_collection("c", 384)
        with pytest.raises(StoreError, match="4-d vector"):
            again.nearest("c", [1.0, 0.0, 0.0, 0.0])
        with pytest.raises(StoreError, match="4-d vector"):
            again.add("c", [StoredItem(id="b", vector=[1, 0, 0, 0], kind="accepted", text="b")])
        assert again.ids("c") == {"a"}  # nothing mixed in, nothing lost
    finally:
        again.close()


def test_gate_refuses_an_embedder_of_another_dimension(tmp_path):
    class Fixed:
        def __init__(self, dimension):
            self.model_name, self.dimension = "same-name", dimension

    store = EdgeStore(tmp_path / "q")
    try:
        NoveltyGate(Fixed(8), store, "math")
        with pytest.raises(StoreError, match="holds 8-d"):
            NoveltyGate(Fixed(16), store, "math")
    finally:
        store.close()


def test_unknown_collection_is_a_clear_error(tmp_path):
    store = EdgeStore(tmp_path / "q")
    try:
        assert store.count("nope") == 0
        with pytest.raises(StoreError, match="'nope' does not exist"):
            store.nearest("nope", unit(1))
        with pytest.raises(StoreError, match="not allowed"):
            store.ensure_collection("../escape", 8)
    finally:
        store.close()


SECOND_PROCESS = """
import sys
from nanoflux.errors import StoreError
from nanoflux_qdrant.edge import EdgeStore
store = EdgeStore(sys.argv[1])
try:
    store.ensure_collection("c", 8)
except StoreError as exc:
    print(exc.one_line())
    sys.exit(3)
"""


def test_a_second_process_gets_an_error_naming_the_folder(tmp_path):
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 8)
    try:
        done = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(tmp_path / "q")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 3, done.stderr
        assert f"novelty store at {tmp_path / 'q' / 'c'} is open in another process" in (
            done.stdout
        )
    finally:
        store.close()
    # once closed, the other process may open it
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, str(tmp_path / "q")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_usable_from_worker_threads(tmp_path):
    # the engine checks from asyncio.to_thread workers and remembers from the main thread
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 8)
    store.add("c", [item("a", 1)])
    seen = []

    def work():
        store.add("c", [item("b", 2)])
        seen.append(store.nearest("c", unit(2))[0].id)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen == ["b"]
    store.close()


def test_payload_round_trip_and_kind_counts(tmp_path):
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 8)
    store.add(
        "c",
        [
            StoredItem(id="gsm8k:7", vector=unit(1), kind="protected", text="Q seven", run_id=""),
            StoredItem(id="math-abc", vector=unit(2), kind="accepted", text="Q two", run_id="r9"),
        ],
    )
    (hit,) = store.nearest("c", unit(1), kind="protected")
    assert (hit.id, hit.kind, hit.text, hit.run_id) == ("gsm8k:7", "protected", "Q seven", "")
    assert store.count("c", kind="protected") == 1
    assert store.count("c", kind="accepted") == 1
    assert store.ids("c", run_id="") == {"gsm8k:7"}
    store.close()


def test_quantized_segments_still_give_exact_similarities(tmp_path, monkeypatch):
    # Enough accepted vectors (11.7 MB) that optimizing builds an int8 segment; results
    # after it must match an exact NumPy search, since quantized candidates are rescored.
    monkeypatch.setattr(edge_module, "OPTIMIZE_AFTER", 300)
    vectors = random_units(8000, 384, seed=3)
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 384)
    kinds = ["protected" if i % 20 == 0 else "accepted" for i in range(len(vectors))]
    store.add(
        "c",
        [
            StoredItem(id=f"i{i}", vector=v.tolist(), kind=k, text="")
            for i, (v, k) in enumerate(zip(vectors, kinds, strict=True))
        ],
    )
    assert store.unoptimized("c") == {"protected": 0, "accepted": 0}  # optimized
    # the premise: Qdrant built int8 copies (below ~10 MB a segment stays float-only)
    assert any((tmp_path / "q" / "c" / "accepted").rglob("quantized.data"))
    rng = np.random.default_rng(4)
    for target in rng.choice(len(vectors), 20, replace=False):
        noise = random_units(1, 384, seed=int(target))[0]
        query = 0.9 * vectors[target] + np.sqrt(1 - 0.81) * noise
        query /= np.linalg.norm(query)
        mask = np.array([k == kinds[target] for k in kinds])
        scores = np.where(mask, vectors @ query, -np.inf)
        (hit,) = store.nearest("c", query.tolist(), kind=kinds[target])
        assert hit.id == f"i{int(np.argmax(scores))}"
        assert hit.similarity == pytest.approx(float(scores.max()), abs=1e-4)
    store.close()


def test_re_adding_an_id_as_the_other_kind_moves_it(tmp_path):
    store = EdgeStore(tmp_path / "q")
    store.ensure_collection("c", 8)
    store.add("c", [item("x", 1)])
    store.add("c", [item("x", 1, kind="protected")])
    assert store.count("c") == 1
    assert store.count("c", kind="accepted") == 0
    assert store.nearest("c", unit(1), kind="accepted") == []
    assert store.nearest("c", unit(1))[0].kind == "protected"
    store.close()


def test_options_are_validated_with_the_field_name(tmp_path):
    with pytest.raises(ConfigError, match=r"store_options\.quantization"):
        open_qdrant({"quantization": "int4"})
    with pytest.raises(ConfigError, match=r"store_options\.colour"):
        open_qdrant({"colour": "blue"})
    with pytest.raises(ConfigError, match="either `path`"):
        open_qdrant({"path": str(tmp_path), "url": "http://localhost:6333"})


def test_registered_through_the_plugin_host(tmp_path):
    host = PluginHost.load(allow=["qdrant"])
    assert "qdrant" in host.stores
    store = host.open_store("qdrant", {"path": str(tmp_path / "via-host")})
    try:
        store.ensure_collection("c", 8)
        assert store.describe()["path"] == str(tmp_path / "via-host")
    finally:
        store.close()


def test_benchmark_measures_the_gate_against_numpy():
    from nanoflux_qdrant.bench import gate_benchmark

    result = gate_benchmark({"sizes": "1000,2500", "queries": "20"})
    for label in ("1k", "2500"):
        assert result[f"gate_p50_ms_{label}"] > 0
        assert result[f"gate_p99_ms_{label}"] >= result[f"gate_p50_ms_{label}"]
        assert result[f"numpy_gate_p50_ms_{label}"] > 0
        assert result[f"numpy_gate_method_{label}"] in ("matmul", "einsum")
        assert result[f"gate_recall_{label}"] == 1.0  # exact search finds every near-copy
