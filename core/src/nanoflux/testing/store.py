"""The contract every novelty store passes."""

from __future__ import annotations

import numpy as np
import pytest

from ..errors import StoreError
from ..novelty import NoveltyStore, StoredItem
from ..plugins import PluginHost

DIM = 8


def unit(seed: int, dim: int = DIM) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=dim)
    return (vector / np.linalg.norm(vector)).tolist()


def item(id: str, seed: int, kind="accepted", run_id="r1") -> StoredItem:
    return StoredItem(id=id, vector=unit(seed), kind=kind, text=f"text {id}", run_id=run_id)


class NoveltyStoreContract:
    """Supply ``store`` (a fresh, empty store) and, for persistent stores, ``reopen``:
    a callable that closes the given store and returns a new one on the same data."""

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

    @pytest.fixture
    def store(self) -> NoveltyStore:
        raise NotImplementedError("subclass the contract and supply a `store` fixture")

    @pytest.fixture
    def reopen(self):
        return None

    def test_registered_as(self):
        """The subject has no id of its own; the declared id must at least be registered."""
        assert self.registered_as, "declare registered_as: the name the plugin registers"
        assert self.registered_as in PluginHost.load().stores

    def test_nearest_finds_the_same_vector(self, store):
        store.ensure_collection("c", DIM)
        store.add("c", [item(f"id{i}", i) for i in range(20)])
        (hit,) = store.nearest("c", unit(7), k=1)
        assert hit.id == "id7"
        assert hit.similarity == pytest.approx(1.0, abs=1e-3)
        assert hit.kind == "accepted" and hit.text == "text id7" and hit.run_id == "r1"

    def test_results_are_ordered_and_limited(self, store):
        store.ensure_collection("c", DIM)
        store.add("c", [item(f"id{i}", i) for i in range(10)])
        hits = store.nearest("c", unit(3), k=5)
        assert len(hits) == 5
        sims = [h.similarity for h in hits]
        assert sims == sorted(sims, reverse=True)

    def test_kind_filter(self, store):
        store.ensure_collection("c", DIM)
        store.add("c", [item("a", 1), item("p", 2, kind="protected")])
        (hit,) = store.nearest("c", unit(1), kind="protected", k=1)
        assert hit.id == "p"

    def test_empty_collection_has_no_neighbors(self, store):
        store.ensure_collection("c", DIM)
        assert store.nearest("c", unit(1)) == []
        assert store.count("c") == 0

    def test_re_adding_an_id_replaces_it(self, store):
        store.ensure_collection("c", DIM)
        store.add("c", [item("a", 1)])
        store.add("c", [item("a", 2)])
        assert store.count("c") == 1
        assert store.nearest("c", unit(2))[0].similarity == pytest.approx(1.0, abs=1e-3)

    def test_ids_by_run_and_delete(self, store):
        store.ensure_collection("c", DIM)
        store.add("c", [item("a", 1, run_id="r1"), item("b", 2, run_id="r2")])
        assert store.ids("c") == {"a", "b"}
        assert store.ids("c", run_id="r2") == {"b"}
        store.delete("c", ["b", "missing"])
        assert store.ids("c") == {"a"}

    def test_dimension_mismatch_is_an_error(self, store):
        store.ensure_collection("c", DIM)
        with pytest.raises(StoreError):
            store.ensure_collection("c", DIM * 2)

    def test_collections_are_separate(self, store):
        store.ensure_collection("c1", DIM)
        store.ensure_collection("c2", DIM)
        store.add("c1", [item("a", 1)])
        assert store.count("c2") == 0

    def test_count_by_kind(self, store):
        if not store.counts_by_kind:
            pytest.skip("this store does not declare counts_by_kind")
        store.ensure_collection("c", DIM)
        store.add("c", [item("a", 1), item("b", 2), item("p", 3, kind="protected")])
        assert store.count("c", kind="accepted") == 2
        assert store.count("c", kind="protected") == 1
        assert store.count("c") == 3

    def test_persistence(self, store, reopen):
        if reopen is None:
            pytest.skip("not a persistent store")
        store.ensure_collection("c", DIM)
        store.add("c", [item("a", 1), item("b", 2)])
        again = reopen(store)
        assert again.ids("c") == {"a", "b"}
        assert again.nearest("c", unit(2))[0].id == "b"
