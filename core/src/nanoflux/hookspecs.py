"""Every extension point of NanoFlux.

Each hook receives a ``register`` callback (``register_commands`` a click group); a
plugin calls it once per thing it provides. Core attaches the plugin's name to each
registration, so two plugins that claim the same id are reported by name, and
``nanoflux plugins`` can say who provides what. Ids end up in datasets and manifests:
keep them stable.

Each ``register`` call is checked when it is made (a non-empty string id, a callable
factory, an instance of the right class; :data:`nanoflux.kinds.KINDS` says which): a
wrong one is a load error naming the plugin and the hook. What a plugin registers is
kept only when all its hooks succeed, so a plugin reported as failed provides nothing.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("nanoflux")
hookimpl = pluggy.HookimplMarker("nanoflux")


@hookspec
def register_backends(register):
    """Register model backends, one per spec prefix.

    :param register: ``register(prefix, factory, description="")``. ``prefix`` is the
        part of a model spec before the first colon (``llamacpp`` in
        ``llamacpp:default``). ``factory(spec)`` receives a
        :class:`nanoflux.backends.ModelSpec` and returns an opened
        :class:`nanoflux.backends.Backend`; it is called only when a run needs the
        model, so heavy imports belong inside it.
    """


@hookspec
def register_embedders(register):
    """Register text embedders used by the novelty gate.

    :param register: ``register(name, factory, description="")``. ``factory(options)``
        receives a dict of options from the run config (``[novelty.embedder_options]``)
        and returns a :class:`nanoflux.novelty.Embedder`.
    """


@hookspec
def register_novelty_stores(register):
    """Register vector stores that remember accepted questions and protected benchmark items.

    :param register: ``register(name, factory, description="")``. ``factory(options)``
        receives a dict of options from the run config (``[novelty.store_options]``)
        and returns a :class:`nanoflux.novelty.NoveltyStore`. Persistent stores keep
        their files under :func:`nanoflux.paths.home` unless told otherwise.
    """


@hookspec
def register_judge_tools(register):
    """Register tools the Judge runs to verify answers instead of trusting a model.

    :param register: ``register(tool)`` with a :class:`nanoflux.tools.JudgeTool`,
        usually made with the :func:`nanoflux.tools.judge_tool` decorator. Tool ids are
        ``domain.name`` (``math.python``).
    """


@hookspec
def register_domains(register):
    """Register domain packs (math, genomics, medicine, ...).

    :param register: ``register(domain)`` with an instance of a
        :class:`nanoflux.domains.Domain` subclass; its ``name`` is the id used by
        ``--domain`` and in benchmark specs.
    """


@hookspec
def register_trainers(register):
    """Register fine-tuning methods.

    :param register: ``register(name, factory, description="")``. ``factory()`` returns
        a :class:`nanoflux.training.Trainer`; heavy imports belong inside it.
    """


@hookspec
def register_benchmarks(register):
    """Register sections of ``nanoflux bench NAME --json``.

    :param register: ``register(name, function, description="")``. ``function(options)``
        receives a dict of ``--option key=value`` pairs and returns a JSON-serialisable
        dict. Several plugins may register the same ``name`` (each measures its own
        part); their dicts are merged, and two plugins writing the same key is an error.
    """


@hookspec
def register_commands(cli):
    """Add commands of a plugin's own to the ``nanoflux`` CLI.

    :param cli: a :class:`click.Group` to add them to: call ``cli.add_command`` or use
        ``@cli.command()``. Each command is a registration like any other, its id the
        command's name: checked when added, kept only when all the plugin's hooks
        succeed. A name of core's own (run, train, ...) fails the plugin. A command
        reaches the plugin host through :func:`nanoflux.cli.current_host`; heavy imports
        belong inside the command, as this hook runs whenever the plugins load.
    """
