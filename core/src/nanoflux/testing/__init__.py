"""Contract test suites that every plugin's tests subclass.

Subclass the contract for your plugin's kind in your plugin's ``tests/`` and supply
its fixture; pytest collects the inherited tests::

    from nanoflux.testing import BackendContract

    class TestMyBackend(BackendContract):
        registered_as = "mybackend"  # the id the plugin registers it under

        @pytest.fixture
        def backend(self):
            return open_my_backend(...)

A new plugin is correct when it passes its contract. ``registered_as`` is checked
against the fixture, and a repository-wide test checks that every installed id has a
contract test declaring it. Which contract tests which kind is in
:data:`nanoflux.kinds.KINDS`.
"""

import shutil

import pytest

from ..sandbox import sandbox_unavailable_reason
from .backend import BackendContract
from .domain import DomainContract
from .embedder import EmbedderContract
from .judge_tool import JudgeToolContract
from .store import NoveltyStoreContract
from .trainer import TrainerContract

#: for tests that run the sandbox: skipped where bubblewrap is missing; where setup
#: installed it, the sandbox must work, so the tests run and fail rather than skip
needs_sandbox = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason=f"sandbox unavailable: {sandbox_unavailable_reason()}",
)

__all__ = [
    "BackendContract",
    "DomainContract",
    "EmbedderContract",
    "JudgeToolContract",
    "NoveltyStoreContract",
    "TrainerContract",
    "needs_sandbox",
]
