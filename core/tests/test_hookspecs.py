"""Every hook is documented: in its docstring (each parameter) and in CONTRIBUTING.md."""

import inspect
from pathlib import Path

import pytest

from nanoflux import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [
    name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "nanoflux_spec")
]


def test_there_are_hooks():
    assert {"register_backends", "register_domains", "register_trainers"} <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_docstring_documents_every_parameter(name):
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    for parameter in inspect.signature(fn).parameters:
        assert f":param {parameter}:" in doc, f"{name} does not document {parameter}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_in_contributing(name):
    assert f"`{name}" in (ROOT / "CONTRIBUTING.md").read_text()
