import sys
from pathlib import Path

import pytest

from nanoflux.plugins import PluginHost

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # the test plugin module below is imported by name

import nanoflux_test_arith  # noqa: E402


@pytest.fixture
def builtin_host() -> PluginHost:
    """Only core's default plugins: tests of core must not depend on what else is installed."""
    return PluginHost.load(allow=[])


@pytest.fixture
def arith_host() -> PluginHost:
    """Core's plugins plus the test arithmetic domain."""
    return PluginHost.load(allow=[], extra=[("arith", nanoflux_test_arith)])


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test touches the user's data directory."""
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "nanoflux-home"))
