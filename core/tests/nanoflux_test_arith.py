"""A tiny domain plugin and scripted model responders for engine tests.

The domain is a stand-in for what engine tests are not about (real domain packs have
their own tests); the responders derive the round number from the request seed, so
a round's content does not depend on which lane ran it.
"""

from __future__ import annotations

import ast
import operator

from pydantic import BaseModel

from nanoflux import hookimpl
from nanoflux.default_plugins.scripted import (
    attacking,
    defender_reply,
    judge_reply,
    solving_blind,
)
from nanoflux.domains import Domain, PromptSet, Verification
from nanoflux.records import Question
from nanoflux.tools import judge_tool

NAMES = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai"]
THINGS = ["apples", "bolts", "cards", "drums", "eggs", "flags", "gears", "hats", "inks"]
PLACES = ["barn", "attic", "garage", "harbor", "kiosk", "lab", "mill", "pier", "shed", "tower"]
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


class ExpressionArgs(BaseModel):
    expression: str


@judge_tool("arith.evaluate", domain="arith")
def evaluate(args: ExpressionArgs) -> int:
    """Evaluate an integer expression with + - *."""

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression: {ast.dump(node)[:40]}")

    return walk(ast.parse(args.expression, mode="eval").body)


class ArithDomain(Domain):
    name = "arith"
    skills = ("multiplication", "addition", "multi-step")
    supports_programs = True

    def prompts(self) -> PromptSet:
        return PromptSet(
            attacker="Write a $domain question on $target_skill. Weak: $weak_skills. "
            "Avoid: $avoid. Wrong before: $recent_wrong. Hops $hops_min-$hops_max.",
            defender="Answer: $question $choices",
            judge="Judge: $question ref=$reference_answer sol=$solution "
            "def=$defender_answer ($defender_reasoning) tools: $evidence hops=$hops",
        )

    def check_answer(self, reference, candidate, *, choices=None) -> bool:
        try:
            return int(str(reference).strip()) == int(str(candidate).strip())
        except ValueError:
            return False

    def verify(self, question: Question, call_tool) -> Verification:
        if not question.program:
            return Verification()
        evidence = call_tool("arith.evaluate", {"expression": question.program})
        if evidence.result.ok:
            evidence.supports_reference = self.check_answer(
                question.reference_answer, str(evidence.result.value)
            )
        return Verification(evidence=[evidence])

    def loaders(self):
        return {"lines": load_lines}


def load_lines(path):
    """``{"question", "answer"}`` per line: seeds for the engine's seeded attacks."""
    import json

    from nanoflux.records import BenchmarkItem

    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    return [
        BenchmarkItem(id=f"lines-{n}", question=row["question"], answer=row["answer"])
        for n, row in enumerate(rows)
    ]


@hookimpl
def register_domains(register):
    register(ArithDomain())


@hookimpl
def register_judge_tools(register):
    register(evaluate)


# -- scripted responders -------------------------------------------------------------


def round_of(request) -> int:
    return (request.seed or 0) % 1_000_003 // 10


def question_for(index: int) -> dict:
    a, b, c = 3 + index % 17, 2 + index % 13, index
    thing = THINGS[index % len(THINGS)]
    return {
        "text": f"{NAMES[index % len(NAMES)]} keeps {a} crates of {b} {thing} "
        f"in the {PLACES[(index // 3) % len(PLACES)]} and finds {c} more loose ones "
        f"(inventory {index}). How many {THINGS[index % len(THINGS)]} are there?",
        "skill": ["multiplication", "addition", "multi-step"][index % 3],
        "hops": 2,
        "solution_steps": [f"{a} * {b} = {a * b}", f"{a * b} + {c} = {a * b + c}"],
        "reference_answer": str(a * b + c),
        "explanation": "Multiply, then add.",
        "program": f"{a} * {b} + {c}",
    }


def attacker(request):
    return question_for(round_of(request))


def defender(request):
    """Wrong, except on every fifth round."""
    index = round_of(request)
    truth = int(question_for(index)["reference_answer"])
    return defender_reply(str(truth if index % 5 == 0 else truth + 1), "I added.")


def solver(request):
    """The Judge solving blind: right."""
    return defender_reply(question_for(round_of(request))["reference_answer"], "Worked it out.")


def judge(request):
    return judge_reply()


def model(request):
    """One scripted 'model' that can play any role: it answers the schema it is given
    (the Defender is asked for free text, with no schema)."""
    module = globals()  # look up at call time, so tests can monkeypatch a role
    if attacking(request):
        return module["attacker"](request)
    if request.json_schema is None:
        return module["solver" if solving_blind(request) else "defender"](request)
    return module["judge"](request)


other_model = model  # a second name, to tell model A from model B in records
