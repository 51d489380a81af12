"""Named evaluation protocols: how an item is asked and how its answer is read.

========================  ===============================================================
``json``                  the question, an instruction to reply with one JSON object
                          (``reasoning``, ``final_answer``; no value shown) and the ``Answer``
                          JSON schema; the answer is the ``final_answer`` field
``text``                  the bare question, the way fine-tuning examples ask it (for models
                          tuned on NanoFlux datasets); the answer is read from the reply
``cot``                   zero-shot chain of thought: the question and an instruction to
                          reason step by step and close with ``Final answer: X``
``cot-fewshot``           k-shot chain of thought: k worked exemplars from the benchmark's
                          training split as earlier chat turns (user: the exemplar's question
                          with the same instruction; assistant: its solution closing with
                          ``Final answer: X``), then the item
========================  ===============================================================

Every protocol decodes greedily (temperature 0) within a stated token budget, and reads
free-text replies with :func:`~nanoflux.evaluation.extraction.extract_answer`. The
protocol is recorded in each result; results under different protocols are never
compared (:func:`~nanoflux.evaluation.running.compare` refuses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..backends import CompletionRequest
from ..domains import BenchmarkSpec, Domain, load_benchmark
from ..errors import ConfigError, UsageError
from ..records import BenchmarkItem, ChatMessage, Record
from ..structured import ANSWER_SCHEMA
from ..training import item_question, worked_reply

PROTOCOLS = ("json", "text", "cot", "cot-fewshot")
DEFAULT_PROTOCOL = "cot"
DEFAULT_MAX_TOKENS = 512
DEFAULT_SHOTS = 5  # lm-eval's GSM8K default
# Asked to "end with" the line, Qwen2.5-0.5B wrote only that line (no reasoning, 2 of 2
# items); asked to reason first, it reasons (and often boxes the answer, which is read too).
COT_INSTRUCTION = (
    'Reason step by step. Then write the final answer on the last line as "Final answer: X".'
)
COT_CHOICE_INSTRUCTION = (
    "Reason step by step. Then write the letter of the correct option on the last line "
    'as "Final answer: X".'
)
#: json 2: no example object in the instruction, and a schema that requires the reasoning
REVISIONS = {"json": 2}
# No filled-in example object: a small model copies its values ("7", "the answer only").
JSON_INSTRUCTION = (
    'Reply with exactly one JSON object with two keys: "reasoning", your solution step by '
    'step, then "final_answer", just the final result.'
)


class Protocol(Record):
    """What a result's number means: compare two results only when these are equal."""

    name: str = Field(description=" | ".join(PROTOCOLS))
    max_tokens: int = Field(ge=1, description="Reply budget per item, in tokens.")
    temperature: float = Field(default=0.0, description="0: greedy decoding.")
    shots: int = Field(default=0, ge=0)
    exemplars: str | None = Field(default=None, description="Benchmark the exemplars came from.")
    exemplar_ids: list[str] = Field(default_factory=list)
    revision: int = Field(
        default=1,
        description="Bumped when a protocol's prompt changes (REVISIONS): results of two "
        "revisions were asked differently and are not compared.",
    )

    def label(self) -> str:
        text = self.name
        if self.shots:
            text += f" ({self.shots} shots from {Path(str(self.exemplars)).name})"
        if self.revision > 1:
            text += f" (revision {self.revision})"
        return f"{text}, greedy, {self.max_tokens} tokens"

    def differences(self, other: Protocol) -> list[str]:
        """The fields in which two protocols differ (the exemplar source's path excepted:
        the same file may sit in two places; the exemplar ids say what was shown)."""
        mine, theirs = (
            self.model_dump(exclude={"exemplars"}),
            other.model_dump(exclude={"exemplars"}),
        )
        return [f"{k}: {mine[k]!r} vs {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]


def cot_question(item: BenchmarkItem) -> str:
    instruction = COT_CHOICE_INSTRUCTION if item.choices else COT_INSTRUCTION
    return f"{item_question(item)}\n\n{instruction}"


#: a worked exemplar's reply: its solution as the domain's loader wrote it (GSM8K's
#: without calculator annotations) and ``Final answer: X``, in training's shape
exemplar_reply = worked_reply


def make_protocol(
    name: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    shots: int = DEFAULT_SHOTS,
    exemplars: str | None = None,
    exemplar_items: list[BenchmarkItem] | None = None,
) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError(f"protocol {name!r}", hint=f"use one of {', '.join(PROTOCOLS)}")
    if name != "cot-fewshot":
        return Protocol(name=name, max_tokens=max_tokens, revision=REVISIONS.get(name, 1))
    if shots < 1:
        raise ConfigError("cot-fewshot needs --shots of at least 1")
    chosen = (exemplar_items or [])[:shots]
    if len(chosen) < shots:
        raise ConfigError(
            f"cot-fewshot: {shots} exemplars wanted, {len(chosen)} found in {exemplars}",
            hint="name the benchmark's training split with --exemplars DOMAIN:FORMAT:PATH",
        )
    return Protocol(
        name=name,
        max_tokens=max_tokens,
        shots=shots,
        exemplars=exemplars,
        exemplar_ids=[item.id for item in chosen],
    )


def default_exemplars(benchmark: BenchmarkSpec) -> str | None:
    """``train.jsonl`` beside the benchmark file (GSM8K's layout), as a spec, if it exists."""
    path = benchmark.path
    if path.is_file() and path.name != "train.jsonl":
        train = path.with_name("train.jsonl")
        if train.is_file():
            return str(BenchmarkSpec(domain=benchmark.domain, format=benchmark.format, path=train))
    return None


def check_exemplars(exemplars: list[BenchmarkItem], items: list[BenchmarkItem]) -> None:
    """An exemplar that is also an evaluated item would show the model its own answer."""
    asked = {item.question.strip() for item in items}
    for exemplar in exemplars:
        if exemplar.question.strip() in asked:
            raise ConfigError(
                f"exemplar {exemplar.id} is also an evaluated item",
                hint="take exemplars from the training split, never from the evaluated file",
            )


def build_request(
    protocol: Protocol,
    domain: Domain,
    item: BenchmarkItem,
    exemplars: list[BenchmarkItem],
    *,
    seed: int,
) -> CompletionRequest:
    """The chat request that asks ``item`` under ``protocol``."""
    schema: dict[str, Any] | None = None
    messages: list[ChatMessage] = []
    if protocol.name == "json":
        prompt = f"{item_question(item)}\n\n{JSON_INSTRUCTION}"
        schema = ANSWER_SCHEMA
    elif protocol.name == "text":
        prompt = item_question(item)
    else:
        for exemplar in exemplars[: protocol.shots]:
            messages.append(ChatMessage(role="user", content=cot_question(exemplar)))
            messages.append(ChatMessage(role="assistant", content=exemplar_reply(exemplar)))
        prompt = cot_question(item)
    messages.append(ChatMessage(role="user", content=prompt))
    return CompletionRequest(
        messages=messages,
        json_schema=schema,
        max_tokens=protocol.max_tokens,
        temperature=protocol.temperature,
        seed=seed,
    )


def resolve_protocol(
    host,
    benchmark: BenchmarkSpec,
    items: list[BenchmarkItem],
    name: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    shots: int = DEFAULT_SHOTS,
    exemplars: str | None = None,
) -> tuple[Protocol, list[BenchmarkItem]]:
    """The Protocol and its exemplar items (none unless the protocol is cot-fewshot):
    the first ``shots`` items of ``exemplars`` (default: train.jsonl beside the benchmark)."""
    if name != "cot-fewshot":
        return make_protocol(name, max_tokens=max_tokens), []
    source = exemplars or default_exemplars(benchmark)
    if source is None:
        raise UsageError(
            "protocol cot-fewshot needs exemplars from the benchmark's training split",
            hint="pass --exemplars DOMAIN:FORMAT:PATH (e.g. math:gsm8k:data/gsm8k/train.jsonl)",
        )
    source_spec = BenchmarkSpec.parse(source)
    chosen = load_benchmark(host, source_spec, shots) if shots > 0 else []  # make_protocol: why
    check_exemplars(chosen, items)
    protocol = make_protocol(
        name, max_tokens=max_tokens, shots=shots, exemplars=str(source_spec), exemplar_items=chosen
    )
    return protocol, chosen
