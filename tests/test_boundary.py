"""The plugin boundary: plugins and domain packs import only the modules
``nanoflux.PUBLIC_MODULES`` names, and CONTRIBUTING shows that same list.

Every import counts: at module level, inside a function, under ``TYPE_CHECKING``. A
public package is public through what its ``__init__`` exports, so
``nanoflux.evaluation.protocols`` is outside the boundary although ``nanoflux.evaluation``
is inside it; and a name with a leading underscore is private wherever it lives.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import nanoflux
from nanoflux import PUBLIC_MODULES

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "src"
# what plugin code is: the sources of every plugin and domain pack, the example packages
# CONTRIBUTING builds, and those the tests install as plugins
PLUGIN_SOURCES = ("plugins/*/src", "domains/*/src", "examples/*/src", "tests/fixtures")
CONTRIBUTING = ROOT / "CONTRIBUTING.md"


def core_module_names() -> set[str]:
    names = set()
    for path in (CORE / "nanoflux").rglob("*.py"):
        parts = list(path.relative_to(CORE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.add(".".join(parts))
    return names


CORE_MODULES = core_module_names()


def crossings(tree: ast.AST, public=PUBLIC_MODULES, core=CORE_MODULES) -> list[tuple[int, str]]:
    """(line, what) for each import of ``nanoflux`` outside the public list."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "nanoflux" and alias.name not in public:
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "nanoflux":
                continue
            if node.module not in public:
                found.append((node.lineno, f"from {node.module} import ..."))
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in core and submodule not in public:
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
                elif alias.name.startswith("_") and alias.name != "__version__":
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    return found


def plugin_files() -> list[Path]:
    return sorted(path for pattern in PLUGIN_SOURCES for path in ROOT.glob(f"{pattern}/**/*.py"))


def contributing_code() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", CONTRIBUTING.read_text(), re.S))


# Imports whose replacement is under way in files another change owns; each is
# reported with its replacement. Remove an entry when its file is fixed.
BEING_MOVED: set[str] = set()  # files that still import outside the list, xfail meanwhile


def _param(path: Path):
    relative = path.relative_to(ROOT).as_posix()
    marks = (
        [pytest.mark.xfail(strict=False, reason="being moved")] if relative in BEING_MOVED else []
    )
    return pytest.param(path, id=relative, marks=marks)


def test_plugin_sources_are_found():
    files = {path.relative_to(ROOT).as_posix() for path in plugin_files()}
    assert "plugins/nanoflux-llamacpp/src/nanoflux_llamacpp/__init__.py" in files
    assert "domains/nanoflux-math/src/nanoflux_math/__init__.py" in files
    assert "examples/nanoflux-units/src/nanoflux_units/__init__.py" in files
    assert len(files) > 40


@pytest.mark.parametrize("path", [_param(path) for path in plugin_files()])
def test_plugins_import_only_public_modules(path):
    tree = ast.parse(path.read_text("utf-8"), str(path))
    found = [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in crossings(tree)]
    assert not found, "outside nanoflux.PUBLIC_MODULES:\n" + "\n".join(found)


def test_the_contributing_examples_import_only_public_modules():
    assert not crossings(ast.parse(contributing_code()))


def test_every_public_module_exists_and_imports():
    import importlib

    for name in PUBLIC_MODULES:
        assert name in CORE_MODULES, name
        importlib.import_module(name)
    assert "PUBLIC_MODULES" in nanoflux.__all__


def test_contributing_shows_the_same_list():
    section = CONTRIBUTING.read_text().split("## The public API", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"^\| `(nanoflux[\w.]*)` \| (.*) \|$", section, re.M)
    assert shown == list(PUBLIC_MODULES.items()), "CONTRIBUTING's table is not PUBLIC_MODULES"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from nanoflux.records import Question", []),
        ("from nanoflux import hookimpl, __version__", []),
        ("def f():\n    from nanoflux.plugins import PluginHost", [(2, "from nanoflux.plugins")]),
        ("import nanoflux.engine.round", [(1, "import nanoflux.engine.round")]),
        ("from nanoflux import engine", [(1, "from nanoflux import engine")]),
        ("from nanoflux.evaluation.protocols import x", [(1, "from nanoflux.evaluation.pro")]),
        ("from nanoflux.records import _private", [(1, "from nanoflux.records import _")]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import nanoflux.config",
            [(3, "import nanoflux.config")],
        ),
        ("from nanoflux_math import tools\nfrom . import nanoflux", []),
    ],
)
def test_crossings_are_found_wherever_they_are(code, expected):
    found = crossings(ast.parse(code))
    assert len(found) == len(expected)
    pairs = zip(found, expected, strict=True)
    assert [(line, what[: len(prefix)]) for (line, what), (_, prefix) in pairs] == expected
