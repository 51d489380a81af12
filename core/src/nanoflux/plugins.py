"""Loading plugins, in isolation, and keeping what they register.

Plugins come from the ``nanoflux`` entry-point group, plus the built-in default
plugins, which register through the same hooks. A plugin that fails to import, or
whose hook raises, is recorded as a load error under its name and keeps nothing it
registered (CLI commands included); the others load. ``NANOFLUX_LOAD_PLUGINS``
(comma-separated entry-point names; empty means none) restricts which external plugins
load.
"""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Generic, TypeVar

import click
import pluggy

from . import hookspecs
from .backends import Backend, ModelSpec
from .domains import Domain
from .errors import ConfigError, PluginError, clip
from .kinds import BY_HOOK, KINDS, Kind
from .novelty import Embedder, NoveltyStore
from .tools import JudgeTool
from .training import Trainer

ENTRY_POINT_GROUP = "nanoflux"
ALLOWLIST_VARIABLE = "NANOFLUX_LOAD_PLUGINS"

DEFAULT_PLUGINS = (
    "nanoflux.default_plugins.scripted",
    "nanoflux.default_plugins.hashing",
    "nanoflux.default_plugins.memory_store",
    "nanoflux.default_plugins.engine_bench",
    "nanoflux.default_plugins.yield_bench",
)

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    id: str
    item: T
    plugin: str
    description: str = ""


class Registrations(Generic[T]):
    """What plugins registered of one kind, by id. An id registered twice is an error
    naming both plugins: ids end up in datasets, so they are never renamed."""

    def __init__(self, kind: str, reserved: Iterable[str] = ()):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        #: ids core keeps for itself (its own commands)
        self.reserved = frozenset(reserved)

    def check_free(self, id: str, plugin: str) -> None:
        if id in self.reserved:
            raise PluginError(
                f"{self.kind} {id!r} is core's own; plugin {plugin} cannot replace it",
                hint=f"give the {self.kind} another name",
            )
        if id in self._entries:
            other = self._entries[id].plugin
            raise PluginError(
                f"{self.kind} id {id!r} is registered by both {other} and {plugin}",
                hint="uninstall one of them, or restrict NANOFLUX_LOAD_PLUGINS",
            )

    def add(self, id: str, item: T, plugin: str, description: str = "") -> None:
        if not isinstance(id, str) or not id:
            raise PluginError(f"plugin {plugin} registered a {self.kind} with an empty id")
        self.check_free(id, plugin)
        self._entries[id] = Entry(id, item, plugin, description)

    def get(self, id: str) -> T:
        try:
            return self._entries[id].item
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none installed"
            raise ConfigError(
                f"unknown {self.kind} {clip(repr(id))}",
                hint=f"installed: {known}; `nanoflux plugins available` lists more",
            ) from None

    def entry(self, id: str) -> Entry[T]:
        self.get(id)
        return self._entries[id]

    def __contains__(self, id: str) -> bool:
        return id in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def ids(self) -> list[str]:
        return sorted(self._entries)


@dataclass
class PluginInfo:
    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False


@dataclass
class LoadError:
    plugin: str
    error: str


class PluginHost:
    """The loaded plugins and everything they registered. Build one with :meth:`load`.

    One attribute per kind in :data:`nanoflux.kinds.KINDS`; benchmarks map a section
    name to the entries of every plugin that measures part of it.
    """

    backends: Registrations[Callable[[ModelSpec], Backend]]
    embedders: Registrations[Callable[[dict[str, Any]], Embedder]]
    stores: Registrations[Callable[[dict[str, Any]], NoveltyStore]]
    tools: Registrations[JudgeTool]
    domains: Registrations[Domain]
    trainers: Registrations[Callable[[], Trainer]]
    benchmarks: dict[str, list[Entry[Callable[[dict[str, Any]], dict]]]]
    commands: Registrations[click.Command]

    def __init__(self, reserved_commands: Iterable[str] = ()) -> None:
        self.pm = pluggy.PluginManager("nanoflux")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.errors: list[LoadError] = []
        for kind in KINDS:
            shared = kind.registration == "shared"
            setattr(self, kind.attribute, {} if shared else Registrations(kind.label))
        self.commands.reserved = frozenset(reserved_commands)

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(
        cls,
        allow: Iterable[str] | None = None,
        *,
        extra: Iterable[tuple[str, ModuleType | object]] = (),
        entry_points: bool = True,
        reserved_commands: Iterable[str] = (),
    ) -> PluginHost:
        """Load the default plugins, the entry-point plugins, and ``extra`` (name, module) pairs.

        ``allow`` restricts entry-point plugins by name; None reads ``NANOFLUX_LOAD_PLUGINS``.
        ``reserved_commands`` are the CLI's own command names: a plugin adding one fails.
        """
        host = cls(reserved_commands)
        for module_name in DEFAULT_PLUGINS:
            host._register(module_name, importlib.import_module(module_name), builtin=True)
        if entry_points:
            if allow is None and ALLOWLIST_VARIABLE in os.environ:
                value = os.environ[ALLOWLIST_VARIABLE]
                allow = [name.strip() for name in value.split(",") if name.strip()]
            allowed = None if allow is None else set(allow)
            for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                if allowed is not None and ep.name not in allowed:
                    continue
                host._load_entry_point(ep)
        for name, module in extra:
            host._register(name, module)
        host._collect()
        return host

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        if ep.name in self.plugins:
            self.errors.append(LoadError(ep.name, "another plugin already uses this name"))
            return
        try:
            module = ep.load()
        except Exception as exc:
            self.errors.append(LoadError(ep.name, f"import failed: {type(exc).__name__}: {exc}"))
            return
        dist = getattr(ep, "dist", None)
        self._register(
            ep.name,
            module,
            distribution=dist.name if dist else None,
            version=dist.version if dist else None,
        )

    def _register(self, name: str, module: object, *, builtin: bool = False, **info: Any) -> None:
        try:
            self.pm.register(module, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.errors.append(LoadError(name, f"invalid plugin: {exc}"))
            return
        callers = self.pm.get_hookcallers(module) or []
        unknown = sorted(caller.name for caller in callers if caller.spec is None)
        if unknown:
            self.pm.unregister(name=name)
            self.errors.append(LoadError(name, f"implements unknown hooks: {', '.join(unknown)}"))
            return
        hooks = sorted(caller.name for caller in callers)
        self.plugins[name] = PluginInfo(name=name, hooks=hooks, builtin=builtin, **info)

    def _collect(self) -> None:
        """Call each plugin's registration hooks and keep what it registered only when all
        of them succeed: a plugin reported as failed provides nothing."""
        for name in list(self.plugins):
            staged: list[tuple[Kind, Entry[Any]]] = []
            try:
                for kind in KINDS:
                    self._call_hook(kind, name, staged)
            except PluginError as exc:
                self.errors.append(LoadError(name, exc.one_line()))
                continue
            for kind, entry in staged:
                if kind.registration == "shared":
                    self.benchmarks.setdefault(entry.id, []).append(entry)
                else:
                    self.registrations(kind).add(entry.id, entry.item, name, entry.description)

    def _call_hook(self, kind: Kind, plugin: str, staged: list[tuple[Kind, Entry[Any]]]) -> None:
        for impl in getattr(self.pm.hook, kind.hook).get_hookimpls():
            if impl.plugin_name != plugin:
                continue
            register = self._registrar(kind, plugin, staged)
            try:
                if kind.registration == "command":
                    impl.function(cli=CommandStage(register))
                else:
                    impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"{kind.hook} failed: {type(exc).__name__}: {exc}") from exc

    def registrations(self, kind: Kind) -> Registrations[Any]:
        return getattr(self, kind.attribute)

    def _registrar(self, kind: Kind, plugin: str, staged: list[tuple[Kind, Entry[Any]]]):
        """The ``register`` callback one plugin's hook receives: each call is checked now,
        naming the plugin and the hook, and staged until all the plugin's hooks succeed."""

        def refuse(problem: str) -> PluginError:
            return PluginError(f"plugin {plugin}: {kind.hook}: {problem}")

        def stage(id: Any, item: Any, description: Any) -> None:
            if not isinstance(id, str) or not id:
                raise refuse(f"a {kind.label} needs a non-empty string id, got {id!r}")
            if not isinstance(description, str):
                raise refuse(f"the description of {id!r} is not a string")
            if kind.registration != "shared":
                self.registrations(kind).check_free(id, plugin)
                if any(k is kind and e.id == id for k, e in staged):
                    raise refuse(f"{kind.label} id {id!r} is registered twice")
            staged.append((kind, Entry(id, item, plugin, description)))

        if kind.registration in ("object", "command"):
            expected = kind.expected

            def register_object(thing: Any) -> None:
                if not isinstance(thing, expected):
                    raise refuse(
                        f"expected a {expected.__module__}.{expected.__qualname__}, "
                        f"got {type(thing).__name__} {clip(repr(thing), 60)}"
                    )
                description = getattr(thing, "description", "") or ""
                stage(getattr(thing, kind.id_attribute), thing, description)

            return register_object

        def register(id: str, factory: Callable, description: str = "") -> None:
            if not callable(factory):
                what = "function" if kind.registration == "shared" else "factory"
                raise refuse(
                    f"the {what} for {id!r} is not callable: {type(factory).__name__} "
                    f"{clip(repr(factory), 60)}"
                )
            stage(id, factory, description)

        return register

    # -- opening things ----------------------------------------------------------

    def open_backend(self, spec: str | ModelSpec, options: dict[str, Any] | None = None) -> Backend:
        parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec, options)
        if parsed.prefix not in self.backends:
            known = ", ".join(self.backends.ids())
            raise ConfigError(
                f"unknown model prefix {clip(repr(parsed.prefix))} in {clip(repr(str(parsed)))}",
                hint=f"installed prefixes: {known}",
            )
        return self._opened(BY_HOOK["register_backends"], parsed.prefix, parsed)

    def open_embedder(self, name: str, options: dict[str, Any] | None = None) -> Embedder:
        return self._opened(BY_HOOK["register_embedders"], name, dict(options or {}))

    def open_store(self, name: str, options: dict[str, Any] | None = None) -> NoveltyStore:
        return self._opened(BY_HOOK["register_novelty_stores"], name, dict(options or {}))

    def open_trainer(self, name: str) -> Trainer:
        return self._opened(BY_HOOK["register_trainers"], name)

    def _opened(self, kind: Kind, id: str, *args: Any) -> Any:
        """Call a registered factory and check that it made what its kind promises."""
        entry = self.registrations(kind).entry(id)
        made = entry.item(*args)
        if kind.expected is not None and not isinstance(made, kind.expected):
            raise PluginError(
                f"plugin {entry.plugin}: the {kind.label} factory {id!r} returned "
                f"{type(made).__name__}, not a {kind.expected.__name__}"
            )
        return made

    def domain(self, name: str) -> Domain:
        return self.domains.get(name)

    def tools_for(self, domain: str) -> list[JudgeTool]:
        return [e.item for e in self.tools if e.item.domain == domain]

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """Ids a plugin registered, by kind listing (``backends``, ``judge_tools`` ...)."""
        provides = {}
        for kind in KINDS:
            if kind.registration == "shared":
                groups = self.registrations(kind).items()
                ids = sorted(id for id, group in groups if any(e.plugin == plugin for e in group))
            else:
                ids = [e.id for e in self.registrations(kind) if e.plugin == plugin]
            if ids:
                provides[kind.listing] = ids
        return provides

    def describe(self) -> list[dict[str, Any]]:
        """Plugins with versions, hooks and load errors, as ``nanoflux plugins --json`` prints."""
        rows = [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "builtin": info.builtin,
                "hooks": info.hooks,
                "provides": self.provided_by(info.name),
                "error": next((e.error for e in self.errors if e.plugin == info.name), None),
            }
            for info in self.plugins.values()
        ]
        for error in self.errors:
            if error.plugin not in self.plugins:
                rows.append(
                    {
                        "name": error.plugin,
                        "distribution": None,
                        "version": None,
                        "builtin": False,
                        "hooks": [],
                        "provides": {},
                        "error": error.error,
                    }
                )
        return rows


class CommandStage(click.Group):
    """The ``cli`` a plugin's ``register_commands`` receives while the plugin loads. A
    command added to it (``cli.add_command``, ``@cli.command()``) is a registration like
    any other: checked now, kept in :attr:`PluginHost.commands` only when all the
    plugin's hooks succeed."""

    def __init__(self, register: Callable[..., None]):
        super().__init__(name="nanoflux")
        self._register = register

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if name is not None and isinstance(cmd, click.Command) and name != cmd.name:
            cmd = copy.copy(cmd)  # added under another name: the id is that name
            cmd.name = name
        self._register(cmd)
