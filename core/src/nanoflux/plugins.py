"""Loading plugins, in isolation, and keeping what they register.

Plugins come from the ``nanoflux`` entry-point group, plus the built-in default
plugins, which register through the same hooks. A plugin that fails to import, or
whose hook raises, is recorded as a load error under its name; the others load.
``NANOFLUX_LOAD_PLUGINS`` (comma-separated entry-point names; empty means none)
restricts which external plugins load.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Generic, TypeVar

import pluggy

from . import hookspecs
from .errors import ConfigError, PluginError

ENTRY_POINT_GROUP = "nanoflux"
ALLOWLIST_VARIABLE = "NANOFLUX_LOAD_PLUGINS"

DEFAULT_PLUGINS = (
    "nanoflux.default_plugins.scripted",
    "nanoflux.default_plugins.hashing",
    "nanoflux.default_plugins.memory_store",
    "nanoflux.default_plugins.engine_bench",
)

# hook name -> the kind of thing it registers (used in errors and listings)
REGISTRY_HOOKS = {
    "register_backends": "backend",
    "register_embedders": "embedder",
    "register_novelty_stores": "novelty store",
    "register_judge_tools": "judge tool",
    "register_domains": "domain",
    "register_trainers": "trainer",
}

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    id: str
    item: T
    plugin: str
    description: str = ""


class Registry(Generic[T]):
    """Things of one kind by id. A second registration of an id is an error naming both plugins."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, id: str, item: T, plugin: str, description: str = "") -> None:
        if not isinstance(id, str) or not id:
            raise PluginError(f"plugin {plugin} registered a {self.kind} with an empty id")
        if id in self._entries:
            other = self._entries[id].plugin
            raise PluginError(
                f"{self.kind} id {id!r} is registered by both {other} and {plugin}",
                hint="uninstall one of them, or restrict NANOFLUX_LOAD_PLUGINS",
            )
        self._entries[id] = Entry(id, item, plugin, description)

    def get(self, id: str) -> T:
        try:
            return self._entries[id].item
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none installed"
            raise ConfigError(
                f"unknown {self.kind} {id!r}",
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
    """The loaded plugins and everything they registered. Build one with :meth:`load`."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("nanoflux")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.errors: list[LoadError] = []
        self.backends: Registry[Callable[..., Any]] = Registry("backend")
        self.embedders: Registry[Callable[..., Any]] = Registry("embedder")
        self.stores: Registry[Callable[..., Any]] = Registry("novelty store")
        self.tools: Registry[Any] = Registry("judge tool")
        self.domains: Registry[Any] = Registry("domain")
        self.trainers: Registry[Callable[..., Any]] = Registry("trainer")
        self.benchmarks: dict[str, list[Entry[Callable[..., dict]]]] = {}

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(
        cls,
        allow: Iterable[str] | None = None,
        *,
        extra: Iterable[tuple[str, ModuleType | object]] = (),
        entry_points: bool = True,
    ) -> PluginHost:
        """Load the default plugins, the entry-point plugins, and ``extra`` (name, module) pairs.

        ``allow`` restricts entry-point plugins by name; None reads ``NANOFLUX_LOAD_PLUGINS``.
        """
        host = cls()
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
        """Call every registration hook, plugin by plugin, so failures stay with their plugin."""
        targets = {
            "register_backends": self.backends,
            "register_embedders": self.embedders,
            "register_novelty_stores": self.stores,
            "register_trainers": self.trainers,
        }
        failed: set[str] = set()
        for hook_name in (*REGISTRY_HOOKS, "register_benchmarks"):
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                plugin = impl.plugin_name
                if plugin in failed:
                    continue
                register = self._registrar(hook_name, plugin, targets)
                try:
                    impl.function(register=register)
                except PluginError as exc:
                    self.errors.append(LoadError(plugin, exc.one_line()))
                    failed.add(plugin)
                except Exception as exc:
                    self.errors.append(
                        LoadError(plugin, f"{hook_name} failed: {type(exc).__name__}: {exc}")
                    )
                    failed.add(plugin)

    def _registrar(self, hook_name: str, plugin: str, targets: dict[str, Registry]) -> Callable:
        if hook_name in targets:
            registry = targets[hook_name]

            def register(id: str, factory: Callable, description: str = "") -> None:
                registry.add(id, factory, plugin, description)

        elif hook_name == "register_judge_tools":

            def register(tool: Any) -> None:
                self.tools.add(tool.id, tool, plugin, tool.description)

        elif hook_name == "register_domains":

            def register(domain: Any) -> None:
                self.domains.add(domain.name, domain, plugin, getattr(domain, "description", ""))

        else:

            def register(name: str, function: Callable, description: str = "") -> None:
                self.benchmarks.setdefault(name, []).append(
                    Entry(name, function, plugin, description)
                )

        return register

    def add_commands(self, cli: Any) -> None:
        """Let plugins add CLI commands; a failing plugin is recorded, not fatal."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(cli=cli)
            except Exception as exc:
                self.errors.append(LoadError(impl.plugin_name, f"register_commands failed: {exc}"))

    # -- opening things ----------------------------------------------------------

    def open_backend(self, spec: str | Any, options: dict[str, Any] | None = None):
        from .backends import ModelSpec

        parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec, options)
        if parsed.prefix not in self.backends:
            known = ", ".join(self.backends.ids())
            raise ConfigError(
                f"unknown model prefix {parsed.prefix!r} in {str(parsed)!r}",
                hint=f"installed prefixes: {known}",
            )
        return self.backends.get(parsed.prefix)(parsed)

    def open_embedder(self, name: str, options: dict[str, Any] | None = None):
        return self.embedders.get(name)(dict(options or {}))

    def open_store(self, name: str, options: dict[str, Any] | None = None):
        return self.stores.get(name)(dict(options or {}))

    def open_trainer(self, name: str):
        return self.trainers.get(name)()

    def domain(self, name: str):
        return self.domains.get(name)

    def tools_for(self, domain: str) -> list[Any]:
        return [e.item for e in self.tools if e.item.domain == domain]

    def describe(self) -> list[dict[str, Any]]:
        """Plugins with versions, hooks and load errors, as ``nanoflux plugins --json`` prints."""
        rows = []
        for info in self.plugins.values():
            provides = {
                kind: [e.id for e in registry if e.plugin == info.name]
                for kind, registry in (
                    ("backends", self.backends),
                    ("embedders", self.embedders),
                    ("novelty_stores", self.stores),
                    ("judge_tools", self.tools),
                    ("domains", self.domains),
                    ("trainers", self.trainers),
                )
            }
            provides["benchmarks"] = sorted(
                name
                for name, entries in self.benchmarks.items()
                if any(e.plugin == info.name for e in entries)
            )
            rows.append(
                {
                    "name": info.name,
                    "distribution": info.distribution,
                    "version": info.version,
                    "builtin": info.builtin,
                    "hooks": info.hooks,
                    "provides": {k: v for k, v in provides.items() if v},
                    "error": next((e.error for e in self.errors if e.plugin == info.name), None),
                }
            )
        loaded = set(self.plugins)
        for error in self.errors:
            if error.plugin not in loaded:
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


_default_host: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide host the CLI uses, loaded on first use."""
    global _default_host
    if _default_host is None:
        _default_host = PluginHost.load()
    return _default_host
