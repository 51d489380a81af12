"""Contract test suites that every plugin's tests subclass.

Subclass the contract for your plugin's kind in your plugin's ``tests/`` and supply
its fixture; pytest collects the inherited tests::

    from nanoflux.testing import BackendContract

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self):
            return open_my_backend(...)

A new plugin is correct when it passes its contract.
"""

from .backend import BackendContract
from .domain import DomainContract
from .embedder import EmbedderContract
from .judge_tool import JudgeToolContract
from .store import NoveltyStoreContract
from .trainer import TrainerContract

__all__ = [
    "BackendContract",
    "DomainContract",
    "EmbedderContract",
    "JudgeToolContract",
    "NoveltyStoreContract",
    "TrainerContract",
]
