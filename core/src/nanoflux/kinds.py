"""The kinds of things plugins register, in one table.

Each registration hook in :mod:`nanoflux.hookspecs` registers one kind. This table is
the only place that knows, per kind, the host attribute that keeps them, the word used
in messages and listings, the ``kind`` name in ``registry.toml``, the type a
registration must have, and the contract suite in :mod:`nanoflux.testing` that tests
it. The plugin host, the registry catalogue, ``nanoflux plugins`` and the tests read it.
CLI commands are a kind like the others: staged while their plugin loads, and kept only
when all its hooks succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import click

from .backends import Backend
from .domains import Domain
from .novelty import Embedder, NoveltyStore
from .tools import JudgeTool
from .training import Trainer


@dataclass(frozen=True)
class Kind:
    hook: str
    #: the PluginHost attribute holding the registrations
    attribute: str
    #: singular, for messages: "novelty store"
    label: str
    #: key in ``nanoflux plugins --json`` "provides"
    listing: str
    #: ``kind`` in registry.toml; None for kinds the catalogue does not list
    catalogue: str | None
    #: "factory": ``register(id, factory, description="")``, the factory returning
    #: ``expected``; "object": ``register(thing)`` with an instance of ``expected``, whose
    #: id is ``thing.<id_attribute>``; "shared": like "factory" but several plugins may
    #: register one name (benchmark sections, merged); "command": the hook receives
    #: ``cli``, a click group on which each command the plugin adds is registered, its
    #: id the command's name
    registration: Literal["factory", "object", "shared", "command"]
    expected: type | None
    #: the class in nanoflux.testing every registration of this kind subclasses in a test
    contract: str | None
    id_attribute: str = ""


# hook, attribute, label, listing, catalogue, registration, expected, contract
KINDS: tuple[Kind, ...] = (
    Kind(
        "register_backends", "backends", "backend", "backends", "backend",
        "factory", Backend, "BackendContract",
    ),
    Kind(
        "register_embedders", "embedders", "embedder", "embedders", "embedder",
        "factory", Embedder, "EmbedderContract",
    ),
    Kind(
        "register_novelty_stores", "stores", "novelty store", "novelty_stores", "novelty-store",
        "factory", NoveltyStore, "NoveltyStoreContract",
    ),
    Kind(
        "register_judge_tools", "tools", "judge tool", "judge_tools", "judge-tool",
        "object", JudgeTool, "JudgeToolContract", id_attribute="id",
    ),
    Kind(
        "register_domains", "domains", "domain", "domains", "domain",
        "object", Domain, "DomainContract", id_attribute="name",
    ),
    Kind(
        "register_trainers", "trainers", "trainer", "trainers", "trainer",
        "factory", Trainer, "TrainerContract",
    ),
    Kind(
        "register_benchmarks", "benchmarks", "benchmark", "benchmarks", None,
        "shared", None, None,
    ),
    Kind(
        "register_commands", "commands", "command", "commands", "command",
        "command", click.Command, None, id_attribute="name",
    ),
)  # fmt: skip

BY_HOOK = {kind.hook: kind for kind in KINDS}
#: the kind names registry.toml may use
CATALOGUE_KINDS = tuple(kind.catalogue for kind in KINDS if kind.catalogue)
