"""``nanoflux lmeval``: run both harnesses on the same items, protocol and endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click

from nanoflux.errors import NanofluxError, UsageError


class HarnessError(NanofluxError):
    """lm-eval failed; the message carries the end of its log."""


def gguf_of(host, model: str) -> Path:
    """The GGUF file behind a ``llamacpp:`` spec (a path, or a name the plugin resolves)."""
    rest = model.split(":", 1)[1]
    try:
        if Path(rest).expanduser().is_file():
            return Path(rest).expanduser()
    except OSError:  # a name the filesystem refuses (too long): the plugin names the spec
        pass
    import asyncio

    backend = host.open_backend(model, {"n_ctx": 256})
    try:
        return Path(backend.describe()["path"])
    finally:
        asyncio.run(backend.aclose())


@contextlib.contextmanager
def endpoint(host, model: str, *, n_ctx: int, n_threads: int | None):
    """``(base_url, name)`` of an OpenAI-compatible server for ``model``: a llama_cpp.server
    started here for ``llamacpp:`` specs, the server itself for ``openai:NAME@URL``."""
    if model.startswith("openai:") and "@" in model:
        name, url = model.split(":", 1)[1].split("@", 1)
        yield url.rstrip("/"), name
        return
    if not model.startswith("llamacpp:"):
        raise UsageError(
            f"lmeval needs an OpenAI-compatible endpoint; {model!r} is neither "
            "llamacpp:GGUF nor openai:NAME@URL"
        )
    from nanoflux_openai.local_server import LocalServer

    with LocalServer(gguf_of(host, model), n_ctx=n_ctx, n_threads=n_threads) as server:
        yield server.base_url, "local"


def run_lm_eval(folder: Path, task: dict, base_url: str, name: str) -> dict:
    """One lm-eval run in a subprocess, offline; its log stays in ``folder/lm_eval.log``."""
    config = {"task": task, "base_url": f"{base_url}/chat/completions", "model": name}
    (folder / "lm_eval_config.json").write_text(json.dumps(config, indent=1), "utf-8")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(folder / "hf-datasets-cache"),
        "OPENAI_API_KEY": "unused",  # the local server needs none; the client wants one
    }
    out = folder / "lm_eval_result.json"
    with (folder / "lm_eval.log").open("w", encoding="utf-8") as log:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nanoflux_lmeval.runner",
                str(folder / "lm_eval_config.json"),
                str(out),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    if done.returncode != 0 or not out.is_file():
        tail = " ".join((folder / "lm_eval.log").read_text("utf-8", "replace")[-600:].split())
        raise HarnessError(f"lm-eval exited with code {done.returncode}: {tail}")
    return json.loads(out.read_text("utf-8"))


def nanoflux_folder(folder: Path) -> Path:
    """The NanoFlux evaluation in ``folder``: the folder itself or its ``model/``."""
    from nanoflux.evaluation import read_eval

    for candidate in (folder, folder / "model"):
        if read_eval(candidate):
            return candidate
    raise UsageError(f"--against {folder}: no NanoFlux evaluation (summary.json, items.jsonl)")


@click.command(name="lmeval")
@click.option("--model", "-m", required=True, help="llamacpp:GGUF|NAME or openai:NAME@URL.")
@click.option("--benchmark", "-b", required=True, help="DOMAIN:FORMAT:PATH.")
@click.option("--limit", type=int, help="Only the first N items.")
@click.option(
    "--protocol",
    type=click.Choice(["cot", "cot-fewshot", "text"]),
    default="cot",
    show_default=True,
)
@click.option("--shots", type=int, default=5, show_default=True)
@click.option("--exemplars", help="DOMAIN:FORMAT:PATH of the training split (cot-fewshot).")
@click.option("--max-tokens", type=int, default=512, show_default=True)
@click.option(
    "--against",
    type=click.Path(path_type=Path, file_okay=False),
    help="An earlier `nanoflux eval` folder of the same model and protocol on these items "
    "(or more: its first --limit are used); "
    "without it NanoFlux evaluates through the same endpoint first.",
)
@click.option("--n-ctx", type=int, default=4096, show_default=True)
@click.option("--n-threads", type=int, help="llama_cpp.server threads (default: half the CPUs).")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True)
def lmeval_command(
    model,
    benchmark,
    limit,
    protocol,
    shots,
    exemplars,
    max_tokens,
    against,
    n_ctx,
    n_threads,
    out,
    as_json,
):
    """NanoFlux's accuracy next to EleutherAI lm-eval's on the same items and protocol,
    and whether they agree within binomial noise."""
    from nanoflux.cli import current_host
    from nanoflux.evaluation import Harness

    from .crosscheck import PRIMARY_FILTER, cross_check
    from .task import write_task

    host = current_host()
    harness = Harness.prepare(
        host,
        benchmark,
        limit=limit,
        protocol=protocol,
        max_tokens=max_tokens,
        shots=shots,
        exemplars=exemplars,
        options={"concurrency": 1},
        concurrency=1,
    )
    chosen, spec = harness.protocol, harness.benchmark
    # a longer evaluation of the same benchmark serves for its first --limit items
    earlier = harness.earlier(nanoflux_folder(against), what="--against") if against else None
    out.mkdir(parents=True, exist_ok=True)
    task = write_task(out / "task", chosen, harness.domain, harness.items, harness.exemplars)
    with endpoint(host, model, n_ctx=n_ctx, n_threads=n_threads) as (base_url, name):
        if earlier is None:
            # the endpoint's port, part of the model spec, changes per start: a folder
            # left by another start holds another evaluation and is started afresh
            earlier = harness.evaluate(out / "nanoflux", f"openai:{name}@{base_url}", replace=True)
        summary, results = earlier
        lm_eval = run_lm_eval(out, task, base_url, name)
    check = cross_check(summary, results, lm_eval, model=model)
    (out / "crosscheck.json").write_text(check.model_dump_json(indent=2) + "\n", "utf-8")
    if as_json:
        click.echo(check.model_dump_json())
        return
    click.echo(f"{model} on {check.n} items of {spec}, protocol {chosen.label()}")
    low, high = check.nanoflux.ci95
    click.echo(f"  NanoFlux            {check.nanoflux.accuracy:.3f}  [{low:.3f}, {high:.3f}]")
    for name_, s in check.lm_eval.items():
        low, high = s.ci95
        verdict = "agrees" if check.agree[name_] else "DISAGREES"
        click.echo(
            f"  lm-eval {name_:<12} {s.accuracy:.3f}  [{low:.3f}, {high:.3f}]  {verdict} "
            f"({len(check.disagreements[name_])} items scored differently)"
        )
    if check.same_replies is not None:
        click.echo(f"  identical replies in both harnesses: {check.same_replies}/{check.n}")
    click.echo(f"agreement with lm-eval {PRIMARY_FILTER}: {'yes' if check.agree_primary else 'NO'}")
    click.echo(f"results: {out}")
