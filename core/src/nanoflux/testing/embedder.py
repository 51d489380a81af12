"""The contract every embedder passes."""

from __future__ import annotations

import numpy as np
import pytest

from ..novelty import Embedder
from ..plugins import PluginHost


class EmbedderContract:
    """Supply an ``embedder`` fixture. Paraphrase detection is tested for neural embedders
    by setting ``understands_paraphrase = True``."""

    understands_paraphrase = False

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError("subclass the contract and supply an `embedder` fixture")

    def test_registered_as(self):
        """The subject has no id of its own; the declared id must at least be registered."""
        assert self.registered_as, "declare registered_as: the name the plugin registers"
        assert self.registered_as in PluginHost.load().embedders

    def test_shape_type_and_norm(self, embedder):
        vectors = embedder.embed(["A train leaves at noon.", "Two plus two is four.", "x"])
        assert isinstance(vectors, np.ndarray)
        assert vectors.shape == (3, embedder.dimension)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)

    def test_deterministic_and_batch_independent(self, embedder):
        texts = ["What is the GC content of ATGC?", "A patient weighs 70 kg."]
        batch = embedder.embed(texts)
        single = np.vstack([embedder.embed([t]) for t in texts])
        np.testing.assert_allclose(batch, single, atol=1e-4)

    def test_empty_batch(self, embedder):
        assert embedder.embed([]).shape == (0, embedder.dimension)

    def test_describe_names_model_and_dimension(self, embedder):
        description = embedder.describe()
        assert description["model"] == embedder.model_name
        assert description["dimension"] == embedder.dimension

    def test_near_copy_is_closer_than_unrelated(self, embedder):
        base, copy, other = embedder.embed(
            [
                "A farmer has 12 cows and buys 7 more. How many cows does he have now?",
                "A farmer has 12 cows and then buys 7 more cows. How many cows does he have?",
                "Translate the DNA sequence ATGGCC into its protein sequence.",
            ]
        )
        assert float(base @ copy) > float(base @ other) + 0.2

    def test_paraphrase_is_closer_than_unrelated(self, embedder):
        if not self.understands_paraphrase:
            pytest.skip("this embedder does not claim to understand paraphrase")
        base, para, other = embedder.embed(
            [
                "How many cows does the farmer own after buying 7 more if he started with 12?",
                "A farmer starts with a dozen cows and purchases seven additional ones. "
                "What is his total number of cows?",
                "Which enzyme unwinds the DNA double helix during replication?",
            ]
        )
        assert float(base @ para) > 0.7
        assert float(base @ other) < 0.5
