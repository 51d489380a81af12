import pytest

from nanoflux.plugins import PluginHost


@pytest.fixture
def builtin_host() -> PluginHost:
    """Only core's default plugins: tests of core must not depend on what else is installed."""
    return PluginHost.load(allow=[])
