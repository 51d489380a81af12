"""Answers in free text, read the way ``nanoflux eval`` reads them: the Defender's, and
the Judge's blind solve."""

from __future__ import annotations

from ..backends import Completion, CompletionRequest
from ..domains import choices_text
from ..evaluation.extraction import extract_answer, looks_numeric
from ..kit import calculated
from ..records import Answer, ChatMessage, Question, Usage
from .roles import RoleFailure, Seat, complete_counted
from .table import DEFAULT_MAX_TOKENS, Table

#: temperature of the Defender's extra samples, so that k answers can differ
SAMPLE_TEMPERATURE = 0.7
#: the Judge's system message when it solves a question blind (scripted models key on it).
#: Code-first, the solve is the example's solution: a Coder model left to itself adds a
#: program and an invented "```output" block, which an example must not teach. Brief:
#: the 1.5B ran past 512 tokens in 3 of 9 rounds of one README run (50 s each, wasted).
SOLVE_SYSTEM = (
    "You check a problem by solving it yourself, carefully, in words and arithmetic; "
    "do not write code. Be brief: one short line per step."
)
#: where the blind solve's calculator writes: after a relation sign its model writes
CALCULATOR_STOPS = ["=", "≈"]
#: the most relation signs one solve stops at; past them, the model writes its own values
MAX_CALCULATIONS = 32
# Model seeds: base + 0/1/2/3 for attacker/defender/judge/blind solve (base = run seed
# and round); a later attempt or an extra sample adds a multiple of STRIDE, so a seed
# still tells which round it belongs to (scripted test models rely on that) yet differs
# per call.
STRIDE = 1_000_003


def defender_prompt(table: Table, question: Question) -> str:
    return table.prompts.render(
        "defender", question=question.text, choices=choices_text(question.choices)
    )


async def defender_answers(
    table: Table, defending: str, question: Question, usage: Usage, seed: int
) -> list[Answer]:
    """The Defender's answers: the first at its own temperature, the rest sampled
    (``rounds.defender_samples`` in all).

    The Defender answers in its own words, the way it is evaluated (``nanoflux eval``'s
    chain-of-thought protocols), and its final answer is read from the reply. A JSON
    schema made small models loop inside the reasoning string or leave it empty.
    """
    max_tokens, temperature = table.request_options(defending)
    prompt = defender_prompt(table, question)
    return [
        await answer_of(
            table.seats[defending],
            question,
            prompt,
            usage=usage,
            max_tokens=max_tokens,
            temperature=temperature if sample == 0 else max(temperature, SAMPLE_TEMPERATURE),
            seed=seed + 97 * STRIDE * sample,
        )
        for sample in range(table.config.rounds.defender_samples)
    ]


async def blind_solve(table: Table, question: Question, usage: Usage, seed: int) -> Answer:
    """The Judge solves the question as the Defender was asked it, without the reference."""
    return await answer_of(
        table.seats["judge"],
        question,
        defender_prompt(table, question),
        usage=usage,
        system=SOLVE_SYSTEM,
        role="judge",
        max_tokens=DEFAULT_MAX_TOKENS["defender"],
        temperature=0.0,
        seed=seed,
        calculator=True,
    )


async def calculated_reply(
    seat: Seat, request: CompletionRequest, *, role: str, usage: Usage
) -> Completion:
    """The reply to ``request``, each calculation's value written by a calculator, as
    GSM8K's authors sampled their solutions (Cobbe et al. 2021): the model writes until
    a relation sign (``=``, ``≈``); where the text before it ends on a calculation that
    :func:`~nanoflux.kit.arithmetic.calculated` reads whole, its value is written after
    the sign, and the model goes on from there. What the solve calculates is its own;
    only the arithmetic cannot slip, so a right question is not lost to a wrong product
    (a Cockcroft-Gault solve gave 43 for 40.5), and the solve an example teaches holds.

    A backend that cannot continue a reply (``continues_replies``) answers in one call.
    """
    if not seat.backend.continues_replies:
        return await complete_counted(seat, request, role=role, usage=usage)
    text, parts = "", []
    budget = request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS[role]
    while budget > 0:
        prefill = [ChatMessage(role="assistant", content=text)] if text else []
        stop = CALCULATOR_STOPS if len(parts) < MAX_CALCULATIONS else None
        update = {"messages": [*request.messages, *prefill], "max_tokens": budget, "stop": stop}
        part = await complete_counted(
            seat, request.model_copy(update=update), role=role, usage=usage
        )
        parts.append(part)
        text += part.text
        budget -= max(1, part.completion_tokens)
        if part.stop_sequence is None:
            break
        value = calculated(text)
        text += part.stop_sequence + (f" {value}" if value is not None else "")
    return Completion(
        text=text,
        prompt_tokens=sum(p.prompt_tokens for p in parts),
        completion_tokens=sum(p.completion_tokens for p in parts),
        seconds=sum(p.seconds for p in parts),
        finish_reason=parts[-1].finish_reason if parts[-1].stop_sequence is None else "length",
        model=parts[-1].model,
    )


async def answer_of(
    seat: Seat,
    question: Question,
    prompt: str,
    *,
    usage: Usage,
    max_tokens: int,
    temperature: float,
    seed: int,
    role: str = "defender",
    system: str | None = None,
    calculator: bool = False,
) -> Answer:
    """A free-text answer to ``question``, its arithmetic done by a calculator with
    ``calculator`` (:func:`calculated_reply`); a reply with no final answer (or cut off
    before it) is a :class:`RoleFailure`."""
    request = CompletionRequest(
        messages=[
            *([ChatMessage(role="system", content=system)] if system else []),
            ChatMessage(role="user", content=prompt),
        ],
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    reply = calculated_reply if calculator else complete_counted
    completion = await reply(seat, request, role=role, usage=usage)
    found = extract_answer(
        completion.text,
        choices=question.choices,
        numeric=looks_numeric(question.reference_answer),
    )
    cut = completion.finish_reason == "length"
    # Cut off before its answer, a reply's last number is a step on the way, not an
    # answer: the Defender would be "wrong", or the solve disagree, for no reason.
    if found.answer is None or (cut and found.fallback):
        usage.failed_calls += 1
        why = (
            "the reply was cut off at the token limit before its final answer"
            if cut
            else "no final answer in the reply"
        )
        raise RoleFailure(f"malformed_{role}", why)
    return Answer(reasoning=completion.text.strip(), final_answer=found.answer)
