"""Scripted models for tests/test_domain_runs.py: the attacker plays a question the test sets."""

from nanoflux.default_plugins.scripted import judge_reply

QUESTION: dict = {}
WRONG_ANSWER = {"value": "0"}


def model(request):
    properties = (request.json_schema or {}).get("properties", {})
    if "text" in properties:
        return {k: v for k, v in QUESTION.items() if k in properties}
    if "final_answer" in properties:
        return {"reasoning": "A quick guess.", "final_answer": WRONG_ANSWER["value"]}
    return judge_reply(rationale="The reference solution follows from the tool output.")
