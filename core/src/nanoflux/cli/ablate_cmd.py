"""``nanoflux ablate RUN_DIR``: train and evaluate per quality band or hop band."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import protocol_option
from .train_cmd import build_options, train_options


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--by",
    type=click.Choice(["quality", "hops"]),
    required=True,
    help="How to slice the candidates.",
)
@click.option("--benchmark", "-b", required=True, help="DOMAIN:FORMAT:PATH to evaluate on.")
@click.option("--model", "-m", required=True, help="Base model spec to fine-tune.")
@click.option(
    "--out", "-o", type=click.Path(path_type=Path), help="Folder (default RUN_DIR/ablation-BY)."
)
@click.option("--cap", type=int, default=200, show_default=True, help="Examples per band at most.")
@click.option(
    "--min-examples", type=int, default=1, show_default=True, help="Skip bands with fewer."
)
@click.option("--limit", type=int, help="Evaluate on the first N benchmark items.")
@click.option(
    "--hop-bands", default="1-2,3-4,5-6,7-20", show_default=True, help="Bands for --by hops."
)
@click.option(
    "--max-tokens", type=int, default=512, show_default=True, help="Reply budget per item."
)
@protocol_option(("cot", "json", "text"), default="cot")
@click.option("--json", "as_json", is_flag=True, help="Print ablation.json.")
@train_options
def ablate(
    run_dir,
    by,
    benchmark,
    model,
    out,
    cap,
    min_examples,
    limit,
    hop_bands,
    max_tokens,
    protocol_name,
    as_json,
    trainer_name,
    **flags,
) -> None:
    """Fine-tune MODEL on each band of RUN_DIR's verified candidates (same cap, same options)
    and evaluate every band and the base model on the same benchmark items.
    Finished bands are reused when the command is run again."""
    from ..ablation import markdown_table, run_ablation
    from ..evaluation import Harness
    from . import current_host

    say = (lambda line: None) if as_json else (lambda line: click.echo(line, err=True))
    host = current_host()
    harness = Harness.prepare(
        host, benchmark, limit=limit, protocol=protocol_name, max_tokens=max_tokens, say=say
    )
    out = out or run_dir / f"ablation-{by}"
    report = run_ablation(
        host,
        run_dir,
        harness,
        by=by,
        model=model,
        out=out,
        options=build_options(flags),
        trainer=trainer_name,
        cap=cap,
        min_examples=min_examples,
        hop_bands=hop_bands,
        say=say,
    )
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(markdown_table(report))
    click.echo(f"results: {out}")


COMMANDS = [ablate]
