"""Scripted models for tests/test_domain_runs.py: the attacker plays a question the test sets."""

from nanoflux.default_plugins.scripted import defender_reply, judge_reply, solving_blind

QUESTION: dict = {}
WRONG_ANSWER = {"value": "0"}


def model(request):
    if request.json_schema is None:  # the Defender (or the Judge, blind) in free text
        if solving_blind(request):
            return defender_reply(QUESTION["reference_answer"], "Solved it.")
        return defender_reply(WRONG_ANSWER["value"], "A quick guess.")
    properties = request.json_schema.get("properties", {})
    if "text" in properties:
        return {k: v for k, v in QUESTION.items() if k in properties}
    return judge_reply(rationale="The reference solution follows from the tool output.")
