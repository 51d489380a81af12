"""Fixtures the cross-package tests share."""

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The peft plugin's tiny Llama (nanoflux_peft.tiny), built once for the session."""
    from nanoflux_peft.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
