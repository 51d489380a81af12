"""The blind solve's calculator: the model writes up to a relation sign, the value of the
calculation before it is written after it, and the model goes on (engine.solving)."""

from __future__ import annotations

import asyncio

from nanoflux.backends import Backend, Completion, CompletionRequest, ModelSpec
from nanoflux.engine.roles import Seat
from nanoflux.engine.solving import MAX_CALCULATIONS, calculated_reply
from nanoflux.records import ChatMessage, Usage


class Continuing(Backend):
    """Replies from a script, one part a call, each ending on the stop it names (the
    model's own values after a sign are what a calculator replaces)."""

    continues_replies = True

    def __init__(self, parts: list[tuple[str, str | None]], *, continues: bool = True):
        super().__init__(ModelSpec.parse("scripted:continuing"))
        self.continues_replies = continues
        self.parts = list(parts)
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        text, stop = self.parts.pop(0)
        stop = stop if request.stop and stop in request.stop else None
        return Completion(
            text=text, prompt_tokens=10, completion_tokens=len(text.split()) or 1,
            finish_reason="stop", stop_sequence=stop,
        )  # fmt: skip


def solve(backend: Continuing, max_tokens: int = 512) -> tuple[Completion, Usage]:
    usage = Usage()
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="Her clearance?")], max_tokens=max_tokens
    )
    seat = Seat(backend=backend, limit=asyncio.Semaphore(1))
    return asyncio.run(calculated_reply(seat, request, role="judge", usage=usage)), usage


def test_each_calculation_gets_the_calculators_value_and_the_model_goes_on_from_it():
    backend = Continuing(
        [
            ("CrCl ", "="),  # a name, not a calculation: the sign stays, nothing after it
            (" (140 - 68) × 62 / (72 × 1.3) ", "="),
            (" 47.69, × 0.85 for a woman ", "≈"),  # no calculation ends here either
            (" 40.5\nFinal answer: 41", None),
        ]
    )
    completion, usage = solve(backend)
    assert completion.text == (
        "CrCl = (140 - 68) × 62 / (72 × 1.3) = 47.6923 47.69, × 0.85 for a woman ≈ "
        "40.5\nFinal answer: 41"
    )
    # each call continues the text so far, as the assistant's own, and stops at a sign
    prefills = [r.messages[-1].content for r in backend.requests[1:]]
    assert prefills == [
        "CrCl =",
        "CrCl = (140 - 68) × 62 / (72 × 1.3) = 47.6923",
        "CrCl = (140 - 68) × 62 / (72 × 1.3) = 47.6923 47.69, × 0.85 for a woman ≈",
    ]
    assert backend.requests[0].messages[-1].role == "user"
    assert all(r.stop == ["=", "≈"] for r in backend.requests)
    assert usage.calls == 4 and completion.completion_tokens == usage.completion_tokens
    assert completion.finish_reason == "stop"


def test_the_token_budget_holds_across_the_calls():
    backend = Continuing([("one two three 5 + 3 ", "="), ("four five six seven", None)])
    completion, _ = solve(backend, max_tokens=7)  # 6 tokens, then the last 1
    assert [r.max_tokens for r in backend.requests] == [7, 1]
    assert completion.text == "one two three 5 + 3 = 8four five six seven"


def test_a_solve_that_spends_its_budget_at_a_sign_is_cut_off():
    completion, _ = solve(Continuing([("a b c d 2 + 2 ", "=")]), max_tokens=5)
    assert completion.finish_reason == "length"


def test_past_the_most_calculations_the_model_writes_its_own_values():
    parts = [("1 + 1 ", "=")] * MAX_CALCULATIONS + [(" 2\nFinal answer: 2", "=")]
    backend = Continuing(parts)
    completion, _ = solve(backend, max_tokens=10_000)
    assert backend.requests[-1].stop is None
    assert completion.text.endswith(" 2\nFinal answer: 2") and completion.finish_reason == "stop"


def test_a_backend_that_cannot_continue_answers_in_one_call_without_stops():
    backend = Continuing([("72 × 1.3 = 94\nFinal answer: 94", None)], continues=False)
    completion, usage = solve(backend)
    assert completion.text == "72 × 1.3 = 94\nFinal answer: 94"
    assert len(backend.requests) == 1 and backend.requests[0].stop is None
    assert usage.calls == 1
