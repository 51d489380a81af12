"""``nanoflux novelty``: seed benchmark items as protected, check a question, count items.

The commands open the same embedder and store a run would (``[novelty]`` of a run
config, or the defaults: fastembed + qdrant), so what ``check`` says is what the gate
would decide before the Defender sees the question.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from ..config import NoveltySettings, load_config
from ..engine.gate import OpenGate, benchmark_questions
from ..errors import UsageError
from ..inputs import MAX_FILE_BYTES, clean_text, describe
from ..novelty import NoveltyThresholds, collection_name
from .options import parse_pairs


def gate_options(command):
    """The options every novelty command shares: where the settings come from."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="A run config; its [novelty] settings and domain are used.",
    )
    @click.option("--domain", help="The domain whose collection to use (e.g. math).")
    @click.option("--embedder", help="Embedder name (default: fastembed).")
    @click.option(
        "--embedder-option",
        "embedder_options",
        multiple=True,
        metavar="KEY=VALUE",
        help="An embedder option (repeatable), e.g. threads=2.",
    )
    @click.option("--store", help="Novelty store name (default: qdrant).")
    @click.option(
        "--store-option",
        "store_options",
        multiple=True,
        metavar="KEY=VALUE",
        help="A store option (repeatable), e.g. path=/data/novelty.",
    )
    @functools.wraps(command)
    def wrapper(config_path, domain, embedder, embedder_options, store, store_options, **kw):
        settings, config_domain = NoveltySettings(), None
        if config_path is not None:
            config = load_config(config_path, check_out=False)
            settings, config_domain = config.novelty, config.domain
        settings = settings.model_copy(
            update={
                "embedder": embedder or settings.embedder,
                "store": store or settings.store,
                "embedder_options": {
                    **settings.embedder_options,
                    **parse_pairs(embedder_options, "--embedder-option"),
                },
                "store_options": {
                    **settings.store_options,
                    **parse_pairs(store_options, "--store-option"),
                },
            }
        )
        return command(settings=settings, domain=domain or config_domain, **kw)

    return wrapper


def _require_domain(domain: str | None) -> str:
    if not domain:
        raise UsageError("--domain is required (or --config with a domain)")
    return domain


def kind_counts(store, collection: str) -> dict[str, int] | None:
    """Items per kind, for stores that declare ``counts_by_kind`` (both Qdrant modes do)."""
    if not store.counts_by_kind:
        return None
    return {kind: store.count(collection, kind=kind) for kind in ("protected", "accepted")}


@click.group()
def novelty() -> None:
    """The novelty store: protected benchmark items and accepted examples of every run."""


@novelty.command()
@gate_options
@click.option(
    "--from",
    "specs",
    multiple=True,
    required=True,
    metavar="DOMAIN:FORMAT:PATH",
    help="A benchmark file read by its domain's loader, e.g. math:gsm8k:test.jsonl.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def seed(settings: NoveltySettings, domain: str | None, specs: tuple[str, ...], as_json: bool):
    """Store a benchmark's questions as protected items: a candidate too close to one is
    `contaminated`. Ids are FORMAT:ITEM_ID; seeding again replaces them."""
    from . import current_host

    host = current_host()
    batches = [benchmark_questions(host, spec) for spec in specs]
    domain = domain or batches[0][0].domain
    for spec, _ in batches:
        if spec.domain != domain:
            raise UsageError(f"benchmark {spec} is not of domain {domain!r}")

    def progress(spec):
        if not sys.stderr.isatty():
            return None
        return lambda done, total: click.echo(f"\r{spec}: {done}/{total}", err=True, nl=False)

    with OpenGate(host, settings, domain) as opened:
        report = {"collection": opened.gate.collection, "seeded": {}}
        for spec, items in batches:
            report["seeded"][str(spec)] = opened.protect(spec, items, progress(spec))
            if sys.stderr.isatty():
                click.echo(err=True)
        report["count"] = opened.store.count(opened.gate.collection)
        report["kinds"] = kind_counts(opened.store, opened.gate.collection)
    if as_json:
        click.echo(json.dumps(report))
        return
    for spec, count in report["seeded"].items():
        click.echo(f"seeded {count} protected items from {spec}")
    click.echo(f"{report['collection']}: {report['count']} items")


@novelty.command()
@gate_options
@click.argument("text")
@click.option(
    "--duplicate-threshold",
    type=click.FloatRange(0, 1, min_open=True),
    help="Similarity to an accepted example at which a question is a duplicate.",
)
@click.option(
    "--contamination-threshold",
    type=click.FloatRange(0, 1, min_open=True),
    help="Similarity to a protected benchmark item at which a question is contaminated.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(
    settings: NoveltySettings,
    domain: str | None,
    text: str,
    duplicate_threshold: float | None,
    contamination_threshold: float | None,
    as_json: bool,
):
    """Say whether TEXT ('-' reads standard input) is novel, a duplicate of an accepted
    example, or contaminated by a protected benchmark item, and show the nearest item."""
    from . import current_host

    if text == "-":
        try:
            text = sys.stdin.buffer.read(MAX_FILE_BYTES).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"standard input: {describe(exc)}") from None
    # argv holds undecodable bytes as lone surrogates; the embedder and store want text
    text = clean_text(text)
    if not text.strip():
        raise UsageError("TEXT is empty")
    thresholds = NoveltyThresholds(
        duplicate=duplicate_threshold or settings.duplicate_threshold,
        contaminated=contamination_threshold or settings.contamination_threshold,
    )
    with OpenGate(current_host(), settings, _require_domain(domain), thresholds) as opened:
        decision = opened.gate.check(text)
        report = {
            "verdict": decision.verdict,
            "similarity": round(decision.similarity, 4),
            "nearest": decision.nearest.model_dump() if decision.nearest else None,
            "collection": opened.gate.collection,
            "count": opened.store.count(opened.gate.collection),
            "thresholds": thresholds.model_dump(),
        }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(f"{report['verdict']} (similarity {report['similarity']:.3f})")
    nearest = decision.nearest
    if nearest is None:
        click.echo(f"nearest: none ({report['collection']} is empty)")
    else:
        click.echo(f"nearest: {nearest.kind} {nearest.id} ({nearest.similarity:.3f})")
        click.echo(f"  {nearest.text}")


@novelty.command()
@gate_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(settings: NoveltySettings, domain: str | None, as_json: bool):
    """How many items the domain's collection holds, by kind."""
    from . import current_host

    domain = _require_domain(domain)
    host = current_host()
    host.domain(domain)
    embedder = host.open_embedder(settings.embedder, settings.embedder_options)
    store = host.open_store(settings.store, settings.store_options)
    try:
        collection = collection_name(domain, embedder.model_name)
        report = {
            "collection": collection,
            "embedder": embedder.describe(),
            "store": store.describe(),
            "count": store.count(collection),
            "kinds": kind_counts(store, collection) if store.count(collection) else None,
        }
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"{collection}: {report['count']} items")
    for kind, count in (report["kinds"] or {}).items():
        click.echo(f"  {kind}: {count}")


COMMANDS = [novelty]
