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


# -- the cost of a JSON grammar ---------------------------------------------------------

_WRITE = (
    "Write a short math word problem about {thing} that takes three calculation steps, "
    "and a Python function solution() with no parameters that solves it."
)
_AS_JSON = 'Reply with one JSON object: {"text": "<the problem>", "program": ["<line>", ...]}'
_AS_TEXT = "Reply with 'Problem: <the problem>', then the function in a python code block."
_DRAFT_SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "program": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
    "required": ["text", "program"],
    "additionalProperties": False,
}
_THINGS = ["apples", "trains", "paint", "tickets", "rope", "flour", "tiles", "coins"]


def grammar_benchmark(options: dict[str, str]) -> dict[str, Any]:
    """``nanoflux bench grammar``: the same request asked under a JSON schema (a llama.cpp
    grammar) and as free text, N times each, alternating which goes first. Each prompt
    opens with a line of its own, so no call reuses the previous one's cached prefix.
    Options: ``llamacpp_n`` (default 8), ``llamacpp_max_tokens`` (default 384),
    ``llamacpp_model`` (default ``default``, the roster's 1.5B model)."""
    n = int(options.get("llamacpp_n", 8))
    max_tokens = int(options.get("llamacpp_max_tokens", 384))
    model = options.get("llamacpp_model", "default")
    backend = open_backend(ModelSpec(prefix="llamacpp", rest=model))
    loop = asyncio.new_event_loop()
    totals = {mode: {"calls": 0, "seconds": 0.0, "tokens": 0} for mode in ("json", "text")}

    def ask(i: int, mode: str) -> None:
        ask_for = _AS_JSON if mode == "json" else _AS_TEXT
        prompt = f"Request {i} ({mode}).\n{_WRITE.format(thing=_THINGS[i % len(_THINGS)])}"
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content=f"{prompt}\n{ask_for}")],
            json_schema=_DRAFT_SCHEMA if mode == "json" else None,
            max_tokens=max_tokens,
            temperature=0.0,
            seed=i,
        )
        started = time.perf_counter()
        completion = loop.run_until_complete(backend.complete(request))
        total = totals[mode]
        total["calls"] += 1
        total["seconds"] += time.perf_counter() - started
        total["tokens"] += completion.completion_tokens

    try:
        ask(n, "text")  # warm-up, untimed: loading the model is not the grammar's cost
        totals["text"] = {"calls": 0, "seconds": 0.0, "tokens": 0}
        for i in range(n):
            for mode in ("json", "text") if i % 2 == 0 else ("text", "json"):
                ask(i, mode)
    finally:
        loop.run_until_complete(backend.aclose())
        loop.close()
    per_call = {mode: t["seconds"] / t["calls"] for mode, t in totals.items()}
    rate = {mode: t["tokens"] / t["seconds"] for mode, t in totals.items()}
    return {
        "grammar_time_ratio": round(per_call["json"] / per_call["text"], 4),
        "grammar": {
            "model": str(backend.path),
            "calls_each": n,
            "max_tokens": max_tokens,
            "seconds_per_call": {mode: round(s, 3) for mode, s in per_call.items()},
            "tokens_per_second": {mode: round(r, 2) for mode, r in rate.items()},
            "completion_tokens": {mode: t["tokens"] for mode, t in totals.items()},
            "note": "seconds per call include reading the prompt, as a round pays it",
        },
    }
