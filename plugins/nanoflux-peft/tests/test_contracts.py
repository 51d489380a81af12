"""The plugin passes the trainer and backend contracts with a real (tiny) model."""

import pytest

from nanoflux.backends import ModelSpec
from nanoflux.plugins import PluginHost
from nanoflux.testing import BackendContract, TrainerContract


class TestPeftTrainer(TrainerContract):
    registered_as = "peft"

    @pytest.fixture
    def trainer(self):
        return PluginHost.load(allow=["peft"]).open_trainer("peft")

    @pytest.fixture
    def model(self, tiny_model):
        return f"hf:{tiny_model}"


class TestHFBackend(BackendContract):
    """The tiny model's text is gibberish; the structured test passes because the backend
    forces the JSON syntax and lets the model write only the values (guided decoding)."""

    registered_as = "hf"

    @pytest.fixture
    def backend(self, tiny_model):
        return PluginHost.load(allow=["peft"]).open_backend(ModelSpec.parse(f"hf:{tiny_model}"))
