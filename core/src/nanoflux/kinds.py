"""The kinds of things plugins register, in one table.

Each registration hook in :mod:`nanoflux.hookspecs` registers one kind. This table is
the only place that knows, per kind, the host attribute that keeps them, the word used
in messages and listings, the ``kind`` name in ``registry.toml``, the type a
registration must have, and the contract suite in :mod:`nanoflux.testing` that tests
it. The plugin host, the registry catalogue, ``nanoflux plugins`` and the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    #: register one name (benchmark sections, merged)
    registration: Literal["factory", "object", "shared"]
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
)  # fmt: skip

BY_HOOK = {kind.hook: kind for kind in KINDS}
#: the kind names registry.toml may use
#: the kind names registry.toml may use; "command" is a plugin that adds CLI commands
#: (``register_commands``), which registers no item and so has no row above
CATALOGUE_KINDS = (*(kind.catalogue for kind in KINDS if kind.catalogue), "command")
