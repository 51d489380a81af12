"""``nanoflux bench backend``: tokens per second through the plugin vs a bare ``openai`` client.

Both send the same chat requests (same prompts, greedy sampling, same max tokens) to
one local ``llama_cpp.server`` started here, at several concurrency levels: the
plugin with option ``concurrency`` set to the level, the bare client under an
``asyncio.Semaphore`` of the same size. At level N the sides take turns sending
batches of N requests at once (plugin first in even batches, bare first in odd
ones), so that load on the machine drifts over both alike.
``ratio`` = plugin tok/s ÷ bare tok/s; the goal is ≥ 0.95 at every level.

llama-cpp-python's server computes one request at a time, so tok/s hardly grows with
concurrency here; what the levels measure is the plugin's queueing, semaphore and
connection handling under load, next to the SDK's.

Options (``--option KEY=VALUE``): ``openai_levels`` (default ``1,4,16``),
``openai_requests`` (per side and level, at least two batches; default 12),
``openai_max_tokens`` (default 16), ``openai_model`` (a GGUF path; default the bundled
SmolLM2-135M).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.records import ChatMessage

from .backend import open_backend
from .local_server import LocalServer
from .options import PLACEHOLDER_KEY

TOPICS = ["a lighthouse", "a river", "a small robot", "winter", "a train", "the moon", "bees"]


def _prompt(i: int) -> str:
    return f"Write a short poem about {TOPICS[i % len(TOPICS)]}."


async def _plugin_batch(backend, prompts, max_tokens) -> tuple[float, int]:
    started = time.perf_counter()
    completions = await asyncio.gather(
        *(
            backend.complete(
                CompletionRequest(
                    messages=[ChatMessage(role="user", content=p)],
                    max_tokens=max_tokens,
                    temperature=0.0,
                    seed=0,
                )
            )
            for p in prompts
        )
    )
    return time.perf_counter() - started, sum(c.completion_tokens for c in completions)


async def _bare_batch(client, level, prompts, max_tokens) -> tuple[float, int]:
    slots = asyncio.Semaphore(level)

    async def one(prompt):
        async with slots:
            return await client.chat.completions.create(
                model="local",
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                temperature=0.0,
                seed=0,
            )

    started = time.perf_counter()
    replies = await asyncio.gather(*(one(p) for p in prompts))
    return time.perf_counter() - started, sum(r.usage.completion_tokens for r in replies)


async def _measure(base_url, levels, requests, max_tokens) -> dict[str, Any]:
    import openai

    results: dict[str, Any] = {}
    for level in levels:
        backend = open_backend(
            ModelSpec(
                prefix="openai",
                rest=f"local@{base_url}",
                options={"concurrency": level, "timeout": 600, "max_retries": 0},
            )
        )
        client = openai.AsyncOpenAI(
            api_key=PLACEHOLDER_KEY, base_url=base_url, max_retries=0, timeout=600
        )
        seconds, tokens, pair_ratios = [0.0, 0.0], [0, 0], []
        batches = max(2, -(-requests // level))
        try:
            # warm-up: connections, and the server's prompt cache, for both sides
            await _plugin_batch(backend, [_prompt(0)], max_tokens)
            await _bare_batch(client, 1, [_prompt(0)], max_tokens)
            for batch in range(batches):
                # one batch = `level` requests in flight at once; the sides alternate
                prompts = [_prompt(batch * level + i) for i in range(level)]
                rates = [0.0, 0.0]
                for side in (0, 1) if batch % 2 == 0 else (1, 0):
                    if side == 0:
                        took, made = await _plugin_batch(backend, prompts, max_tokens)
                    else:
                        took, made = await _bare_batch(client, level, prompts, max_tokens)
                    seconds[side] += took
                    tokens[side] += made
                    rates[side] = made / took
                pair_ratios.append(rates[0] / rates[1])
        finally:
            await backend.aclose()
            await client.close()
        plugin_rate, bare_rate = tokens[0] / seconds[0], tokens[1] / seconds[1]
        results[str(level)] = {
            "plugin_tok_s": round(plugin_rate, 2),
            "bare_tok_s": round(bare_rate, 2),
            "ratio": round(plugin_rate / bare_rate, 4),
            "median_batch_ratio": round(statistics.median(pair_ratios), 4),
            "requests_per_side": batches * level,
            "plugin_tokens": tokens[0],
            "bare_tokens": tokens[1],
            "plugin_failed_calls": backend.stats.failed,
        }
    return results


def throughput_benchmark(options: dict[str, str]) -> dict[str, Any]:
    levels = [int(x) for x in options.get("openai_levels", "1,4,16").split(",") if x.strip()]
    requests = int(options.get("openai_requests", 12))
    max_tokens = int(options.get("openai_max_tokens", 16))
    model = options.get("openai_model")
    with LocalServer(model) as server:
        throughput = asyncio.run(_measure(server.base_url, levels, requests, max_tokens))
        threads = server.n_threads
        model_path = str(server.model)
    return {
        "throughput": throughput,
        "throughput_setup": {
            "server": "llama_cpp.server on 127.0.0.1",
            "model": model_path,
            "server_threads": threads,
            "max_tokens": max_tokens,
            "goal": "ratio >= 0.95 at every level",
        },
    }
