"""``nanoflux bench batching``: the same completions in process and through llama-server.

N Attacker-sized completions (a ~500-token brief, up to ``max_tokens`` generated) are
timed in each setting, back to back in one process: ``in_process`` (``llamacpp:``, one
sequence at a time, as the engine calls it) and ``server_N`` (``llamacpp-server:`` with
``parallel = N``, N calls in flight, as N lanes make them). Prompts, seeds and sampling
are the same in every setting; generated lengths can still differ, so the result gives
generated tokens per second beside the wall time.

Options: ``n`` (completions per batch, default 8), ``repeats`` (batches per setting,
default 1; each pass rotates the order of the settings), ``settings`` (default
``in_process,server_1,server_2,server_4``), ``model`` (default ``default``, the roster's
1.5B), ``max_tokens`` (default 160), ``temperature`` (default 0.8, the Attacker's),
``prompts`` (a JSON file: a list of chat message lists, e.g. real Attacker briefs; by
default a built-in brief of the same size, numbered so no two are equal), ``drafts``
(comma-separated; default 1): with K > 1 the same N completions are asked as N/K
requests of K drafts each (``Backend.complete_n``, as ``rounds.drafts`` asks the
Attacker), and the setting is reported as ``SETTING_draftsK``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from nanoflux.backends import Backend, CompletionRequest, ModelSpec
from nanoflux.errors import UsageError
from nanoflux.machine import available_cpus
from nanoflux.records import ChatMessage

from .backend import open_backend
from .server_backend import open_server_backend

#: the reply form a code-first Attacker is asked for (engine-internal; restated here so
#: the bench's requests are Attacker-sized without importing outside the public API)
PROGRAM_REPLY_FORMAT = """Reply in exactly this form, no comments in the code, nothing after it:
Problem: <the problem>
```python
def solution():
    <one line per calculation step>
    return <the last result>
```"""

BRIEF = """Write one new math word problem that a weaker student model will get wrong, and a \
Python program that solves it. (Request {i}.)
Skill to test: {skill}. The student is weak at: none yet.
Here is an example of a problem and its program:
Problem: A bakery sells muffins in boxes of {a}. On Monday it sold {b} boxes, and on Tuesday \
it sold twice as many boxes as on Monday. Each muffin costs $3, and the bakery gives a $5 \
discount on every order of more than 10 boxes. Tuesday's sales were one order. How much money \
did the bakery take on both days together?
```python
def solution():
    monday_boxes = {b}
    tuesday_boxes = 2 * monday_boxes
    monday_muffins = monday_boxes * {a}
    tuesday_muffins = tuesday_boxes * {a}
    monday_money = monday_muffins * 3
    tuesday_money = tuesday_muffins * 3 - 5
    return monday_money + tuesday_money
```
Write a new problem with the same steps: change every name and every number (the \
program's lines change with them), keep how the steps connect. Do not copy it.

Rules:
- One numeric answer, reached in 2 to 8 calculation steps, each using an earlier result.
- New names, objects and numbers. Self-contained and unambiguous: the problem states every \
number its solution needs, in 2 to 5 sentences, and ends with one question.
- The program: a Python function `def solution():` with no parameters that solves the \
problem, one line per calculation step, each assigning a named variable from numbers stated \
in the problem and earlier variables. It returns the last result, which is exactly what the \
question asks for, as one number. Plain Python, no imports.
- Prefer whole numbers: every intermediate value should come out even, no fractions of \
people, animals or objects, and no negative amounts.
- Avoid the topics of the problems accepted recently: bakeries, trains, gardens, savings \
accounts, school trips, paint, fuel, tiles and ropes."""
SKILLS = ["arithmetic", "percentages", "ratios", "rates", "algebra", "units", "money"]
DEFAULT_SETTINGS = "in_process,server_1,server_2,server_4"


def brief(i: int) -> str:
    """The built-in brief: as long as the Attacker's, with its reply form, never repeated."""
    text = BRIEF.format(i=i, skill=SKILLS[i % len(SKILLS)], a=6 + i, b=4 + i)
    return f"{text}\n\n{PROGRAM_REPLY_FORMAT}"


def briefs(n: int, path: str | None) -> list[list[ChatMessage]]:
    if path:
        loaded = json.loads(Path(path).read_text())
        chats = [[ChatMessage(**m) for m in chat] for chat in loaded]
        return [chats[i % len(chats)] for i in range(n)]
    return [[ChatMessage(role="user", content=brief(i))] for i in range(n)]


def open_setting(setting: str, model: str) -> Backend:
    if setting == "in_process":
        return open_backend(ModelSpec(prefix="llamacpp", rest=model))
    name, _, slots = setting.partition("_")
    if name != "server" or not slots.isdigit() or int(slots) < 1:
        raise UsageError(
            f"bench batching: setting {setting!r} is not in_process or server_N (N >= 1)"
        )
    options = {"parallel": int(slots)}
    return open_server_backend(ModelSpec(prefix="llamacpp-server", rest=model, options=options))


async def answer_batch(
    backend: Backend, requests: list[CompletionRequest], drafts: int = 1
) -> dict[str, Any]:
    """All requests, at most ``max_concurrency`` in flight, as the engine's seat allows;
    with ``drafts`` > 1, every ``drafts``-th request asked for that many replies."""
    slots = asyncio.Semaphore(backend.max_concurrency)

    async def one(request: CompletionRequest):
        async with slots:
            return await backend.complete_n(request, drafts)

    started = time.perf_counter()
    groups = await asyncio.gather(*(one(r) for r in requests[::drafts]))
    replies = [reply for group in groups for reply in group][: len(requests)]
    return {
        "wall_s": time.perf_counter() - started,
        "prompt_tokens": sum(c.prompt_tokens for c in replies),
        "completion_tokens": sum(c.completion_tokens for c in replies),
        "truncated": sum(c.finish_reason == "length" for c in replies),
    }


def summary(backend: Backend, batches: list[dict[str, Any]]) -> dict[str, Any]:
    wall = sum(b["wall_s"] for b in batches)
    count = sum(b["completions"] for b in batches)
    generated = sum(b["completion_tokens"] for b in batches)
    return {
        "in_flight": backend.max_concurrency,
        "completions": count,
        "wall_s": round(wall, 2),
        "seconds_per_completion": round(wall / count, 2),
        "completions_per_hour": round(count / wall * 3600, 1),
        "prompt_tokens": sum(b["prompt_tokens"] for b in batches),
        "completion_tokens": generated,
        "generated_tokens_per_s": round(generated / wall, 2),
        "truncated": sum(b["truncated"] for b in batches),
        "batch_wall_s": [round(b["wall_s"], 2) for b in batches],
        "batch_loadavg_before": [round(b["load"], 2) for b in batches],
    }


async def measure(options: dict[str, str]) -> dict[str, Any]:
    """Every setting's model is opened (and answers a short untimed call) before any
    timing; then each pass times one batch of ``n`` new prompts per setting, the order
    rotating pass by pass, so that load from elsewhere on the machine falls on all."""
    n, repeats = int(options.get("n", 8)), int(options.get("repeats", 1))
    model = options.get("model", "default")
    settings = [s.strip() for s in options.get("settings", DEFAULT_SETTINGS).split(",")]
    chats = briefs(n * repeats, options.get("prompts"))
    requests = [
        CompletionRequest(
            messages=chat,
            max_tokens=int(options.get("max_tokens", 160)),
            temperature=float(options.get("temperature", 0.8)),
            seed=1000 + i,
        )
        for i, chat in enumerate(chats)
    ]
    drafts = [int(k) for k in str(options.get("drafts", "1")).split(",")]
    runs = [(s, k) for s in settings for k in drafts]
    backends: dict[str, Backend] = {}
    batches: dict[str, list[dict[str, Any]]] = {_named(s, k): [] for s, k in runs}
    load_before = os.getloadavg()
    try:
        for setting in settings:
            backends[setting] = open_setting(setting, model)
            await backends[setting].complete(requests[0].model_copy(update={"max_tokens": 4}))
        for rep in range(repeats):
            turn = runs[rep % len(runs) :] + runs[: rep % len(runs)]
            for setting, k in turn:
                load = os.getloadavg()[0]  # what else ran: the figures mean little when high
                batch = await answer_batch(
                    backends[setting], requests[rep * n : rep * n + n], drafts=k
                )
                batches[_named(setting, k)].append({**batch, "completions": n, "load": load})
    finally:
        for backend in backends.values():
            await backend.aclose()
    results = {_named(s, k): summary(backends[s], batches[_named(s, k)]) for s, k in runs}
    base = results.get("in_process")
    others = {s: r for s, r in results.items() if base and s != "in_process"}
    return {
        "model": model,
        "completions_per_setting": n * repeats,
        "machine": {
            "cpus": available_cpus(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": results,
        # the same completions: in-process wall time over this setting's
        "speedup_wall": {s: round(base["wall_s"] / r["wall_s"], 3) for s, r in others.items()},
        # generated tokens per second, for replies whose lengths differ between settings
        "speedup_tokens": {
            s: round(r["generated_tokens_per_s"] / base["generated_tokens_per_s"], 3)
            for s, r in others.items()
        },
    }


def _named(setting: str, drafts: int) -> str:
    return setting if drafts == 1 else f"{setting}_drafts{drafts}"


def batching_benchmark(options: dict[str, str]) -> dict[str, Any]:
    return {"batching": asyncio.run(measure(options))}
