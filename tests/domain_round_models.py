"""Scripted models for tests/test_domain_runs.py: the attacker plays a question the test sets."""

from nanoflux.default_plugins.scripted import (
    attacking,
    defender_reply,
    judge_reply,
    program_reply,
    solving_blind,
)

QUESTION: dict = {}
WRONG_ANSWER = {"value": "0"}


def model(request):
    if attacking(request):
        if request.json_schema is None:  # code-first: the problem and its program
            return program_reply(QUESTION["text"], QUESTION["program"])
        properties = request.json_schema["properties"]
        return {k: v for k, v in QUESTION.items() if k in properties}
    if request.json_schema is None:  # the Defender (or the Judge, blind) in free text
        if solving_blind(request):
            # a solve shows its work (math.arithmetic asks it to): the steps the test set
            worked = "\n".join(["Solved it.", *QUESTION.get("solution_steps", [])])
            return defender_reply(QUESTION["reference_answer"], worked)
        return defender_reply(WRONG_ANSWER["value"], "A quick guess.")
    return judge_reply(rationale="The reference solution follows from the tool output.")
