"""Every id an installed plugin registers has a contract test.

A contract suite (``nanoflux.testing``) subclassed in some package's tests declares the
id it covers with ``registered_as``, and the suite itself checks the declaration against
what its fixture returns. Here the declarations are read from the test sources (no test
module is imported) and compared with what the installed plugins register, kind by kind
from the one table of kinds.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from nanoflux.kinds import KINDS
from nanoflux.plugins import PluginHost

ROOT = Path(__file__).resolve().parents[1]
TEST_SOURCES = (
    "core/tests/*.py",
    "plugins/*/tests/*.py",
    "domains/*/tests/*.py",
    "examples/*/tests/*.py",
    "tests/*.py",
)
CONTRACT_KINDS = [kind for kind in KINDS if kind.contract]


def declared_ids(sources: list[Path]) -> dict[str, set[str]]:
    """``registered_as`` of every contract subclass in ``sources``, by contract name.

    A subclass of a subclass (``class TestBmi(ValueContract)``) counts for the contract
    at the root, as long as both are in the same file.
    """
    found: dict[str, set[str]] = defaultdict(set)
    for path in sources:
        contract_of = {kind.contract: kind.contract for kind in CONTRACT_KINDS}
        for node in ast.parse(path.read_text("utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            ]
            contract = next((contract_of[b] for b in bases if b in contract_of), None)
            if contract is None:
                continue
            contract_of[node.name] = contract
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [getattr(t, "id", None) for t in statement.targets] == ["registered_as"]
                    and isinstance(statement.value, ast.Constant)
                ):
                    found[contract].add(statement.value.value)
    return found


@pytest.fixture(scope="module")
def host() -> PluginHost:
    loaded = PluginHost.load()
    assert not loaded.errors, [f"{e.plugin}: {e.error}" for e in loaded.errors]
    return loaded


@pytest.fixture(scope="module")
def declared() -> dict[str, set[str]]:
    return declared_ids(sorted(p for pattern in TEST_SOURCES for p in ROOT.glob(pattern)))


@pytest.mark.parametrize("kind", CONTRACT_KINDS, ids=lambda kind: kind.attribute)
def test_every_installed_id_has_a_contract_test(kind, host, declared):
    installed = set(host.registrations(kind).ids())
    assert installed, f"no {kind.label} installed: the check would prove nothing"
    missing = sorted(installed - declared[kind.contract])
    assert not missing, (
        f"no {kind.contract} subclass declares registered_as for {', '.join(missing)}"
    )


def test_declarations_are_found_through_intermediate_classes(tmp_path):
    source = tmp_path / "test_sample.py"
    source.write_text(
        "class Values(JudgeToolContract):\n    tolerance = 1\n\n"
        "class TestOne(Values):\n    registered_as = 'a.one'\n\n"
        "class TestOther(Unrelated):\n    registered_as = 'a.other'\n"
    )
    assert declared_ids([source]) == {"JudgeToolContract": {"a.one"}}
