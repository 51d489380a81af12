"""Core's modules import each other without circles, function-local imports counted.

A function-local import hides a circle from Python at start-up, not from the design: the
two modules still need each other, and whichever is imported first decides what the
other sees. So every ``import`` and ``from ... import`` anywhere in a module is an edge,
at module level or inside a function, class or ``try``.

Imports under ``if TYPE_CHECKING:`` are left out: they never run, and an annotation
naming a type of another module is not a dependency of its behaviour.

An edge goes to the module named: ``from .engine import run`` is an edge to
``nanoflux.engine`` (run is not a module), ``from . import hookspecs`` one to
``nanoflux.hookspecs``. The parent packages Python imports on the way are not counted:
every module would depend on ``nanoflux`` and the check would say nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "core" / "src"
PACKAGE = "nanoflux"


def core_modules(source: Path = SOURCE, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, a package by its ``__init__.py``."""
    found = {}
    for path in sorted((source / package).rglob("*.py")):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(tree: ast.AST):
    """Every Import and ImportFrom in the tree, at any depth, except those that run
    only under ``if TYPE_CHECKING:`` (its ``else:`` branch runs, so it counts)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that module ``name`` (at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in import_nodes(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                origin = ".".join([*parts, node.module] if node.module else parts)
            else:
                origin = node.module or ""
            candidates = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        for target in candidates:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def import_graph(known: dict[str, Path] | None = None) -> dict[str, set[str]]:
    known = core_modules() if known is None else known
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm,
    iterative), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "{" + ", ".join(component) + "}: " + "; ".join(edges)


# -- the check on core ----------------------------------------------------------------


def test_core_has_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    report = "\n".join(describe(graph, component) for component in found)
    print(report)
    assert not found, f"{len(found)} import cycle(s), local imports counted:\n{report}"


# -- the checker itself, on small packages written here -----------------------------------


def write_package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for relative, text in files.items():
        path = root / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return core_modules(root, "pkg")


def test_a_function_local_import_closes_a_circle(tmp_path):
    known = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from . import b\n",
            "b.py": "def later():\n    from .a import thing\n    return thing\n",
            "c.py": "import pkg.a\n",
        },
    )
    graph = import_graph(known)
    assert graph["pkg.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_relative_imports_resolve_from_packages_and_modules(tmp_path):
    known = write_package(
        tmp_path,
        {
            "__init__.py": "def __getattr__(name):\n    from .sub import run\n    return run\n",
            "sub/__init__.py": "from .runner import run\n",
            "sub/runner.py": "def run():\n    import pkg\n    from .. import helpers\n",
            "helpers.py": "",
        },
    )
    graph = import_graph(known)
    assert graph["pkg"] == {"pkg.sub"} and graph["pkg.sub"] == {"pkg.sub.runner"}
    assert graph["pkg.sub.runner"] == {"pkg", "pkg.helpers"}
    assert cycles(graph) == [["pkg", "pkg.sub", "pkg.sub.runner"]]


def test_type_checking_imports_are_left_out_but_their_else_is_not(tmp_path):
    known = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from . import b\n",
            "b.py": (
                "import typing\n"
                "if typing.TYPE_CHECKING:\n    from .a import A\n"
                "else:\n    from . import c\n"
            ),
            "c.py": "",
        },
    )
    graph = import_graph(known)
    assert graph["pkg.b"] == {"pkg.c"}
    assert cycles(graph) == []
