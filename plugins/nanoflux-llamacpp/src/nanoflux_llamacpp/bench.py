"""``nanoflux bench backend``: the cost of going through the plugin instead of bare llama.cpp.

``overhead_ratio`` = wall time of N structured calls through :class:`LlamaCppBackend`
(request record, event loop, worker thread, lock, JSON extraction and schema check)
÷ wall time of the same calls made with bare ``Llama.create_chat_completion`` plus
``json.loads``. Both sides load the same file with the same options into their own
``Llama`` instance, get the same prompts, seed and max tokens, and alternate call by
call (plugin first on even calls, bare first on odd ones) so that load on the machine
hits both alike. Greedy sampling makes both sides generate the same tokens, which the
result checks (``same_outputs``).

Options (``--option KEY=VALUE``): ``llamacpp_n`` (calls per side, default 12),
``llamacpp_max_tokens`` (default 48), ``llamacpp_model`` (spec rest, default ``smollm2-135m``),
``llamacpp_n_ctx`` (default 2048).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.records import ChatMessage

from .backend import open_backend

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "final_answer": {"type": "string"}},
    "required": ["reasoning", "final_answer"],
    "additionalProperties": False,
}

QUESTIONS = [
    "What is {a} + {b}?",
    "A shop sells pens at {a} cents each. How much do {b} pens cost?",
    "What is {a} times {b}?",
    "Tom has {a} apples and gives away {b}. How many are left?",
    "What is the remainder of {a} divided by {b}?",
]


def _prompt(i: int) -> str:
    question = QUESTIONS[i % len(QUESTIONS)].format(a=7 + 3 * i, b=2 + i % 5)
    return f"{question} Reply as JSON with reasoning and final_answer."


def overhead_benchmark(options: dict[str, str]) -> dict[str, Any]:
    from llama_cpp import Llama

    n = int(options.get("llamacpp_n", 12))
    max_tokens = int(options.get("llamacpp_max_tokens", 48))
    model = options.get("llamacpp_model", "smollm2-135m")
    spec = ModelSpec(
        prefix="llamacpp",
        rest=model,
        options={"n_ctx": int(options.get("llamacpp_n_ctx", 2048)), "temperature": 0.0},
    )
    backend = open_backend(spec)
    bare = Llama(model_path=str(backend.path), **backend.options.load_options(), verbose=False)
    loop = asyncio.new_event_loop()

    valid = 0

    def through_plugin(i: int) -> tuple[float, str, int]:
        nonlocal valid
        started = time.perf_counter()
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content=_prompt(i))],
            json_schema=ANSWER_SCHEMA,
            max_tokens=max_tokens,
            temperature=0.0,
            seed=i,
        )
        completion = loop.run_until_complete(backend.complete(request))
        valid += completion.data is not None
        return time.perf_counter() - started, completion.text, completion.completion_tokens

    def bare_call(i: int) -> tuple[float, str, int]:
        started = time.perf_counter()
        reply = bare.create_chat_completion(
            messages=[{"role": "user", "content": _prompt(i)}],
            response_format={"type": "json_object", "schema": ANSWER_SCHEMA},
            max_tokens=max_tokens,
            temperature=0.0,
            seed=i,
        )
        text = reply["choices"][0]["message"]["content"] or ""
        try:
            json.loads(text)
        except ValueError:
            pass  # a truncated reply costs the same on both sides
        return time.perf_counter() - started, text, reply["usage"]["completion_tokens"]

    try:
        through_plugin(n)  # warm-up, untimed: first-call costs are not overhead
        bare_call(n)
        valid = 0
        plugin_times, bare_times, same, tokens = [], [], 0, [0, 0]
        for i in range(n):
            if i % 2 == 0:
                p, b = through_plugin(i), bare_call(i)
            else:
                b, p = bare_call(i), through_plugin(i)
            plugin_times.append(p[0])
            bare_times.append(b[0])
            same += p[1] == b[1]
            tokens[0] += p[2]
            tokens[1] += b[2]
    finally:
        loop.run_until_complete(backend.aclose())
        loop.close()
        bare.close()
    plugin_total, bare_total = sum(plugin_times), sum(bare_times)
    return {
        "overhead_ratio": round(plugin_total / bare_total, 4),
        "overhead": {
            "model": str(backend.path),
            "calls": n,
            "max_tokens": max_tokens,
            "plugin_seconds": round(plugin_total, 3),
            "bare_seconds": round(bare_total, 3),
            "median_call_ratio": round(
                statistics.median(p / b for p, b in zip(plugin_times, bare_times, strict=True)), 4
            ),
            "plugin_completion_tokens": tokens[0],
            "bare_completion_tokens": tokens[1],
            "same_outputs": same == n,
            "valid_structured_replies": valid,
            "goal": "overhead_ratio <= 1.05",
        },
    }
