"""The domain kit: the program screen, the run-twice check in the real sandbox, the
python tool, evidence from tools that declare when they apply, and the JSONL reader."""

from __future__ import annotations

import pytest

from nanoflux import sandbox
from nanoflux.domains import Domain, PromptSet, Verification
from nanoflux.engine.judge import combine, consulted_tools, gather_evidence, make_tool_caller
from nanoflux.errors import ConfigError, DataFormatError, ToolError
from nanoflux.hookspecs import hookimpl
from nanoflux.kit import (
    deterministic_value,
    jsonl_benchmark,
    python_tool,
    screen_program,
    screened,
)
from nanoflux.plugins import PluginHost
from nanoflux.records import Question, Record, Scores, ToolEvidence, ToolResult
from nanoflux.testing import JudgeToolContract, needs_sandbox
from nanoflux.tools import judge_tool

# -- the screen, before any sandbox ----------------------------------------------------------

REFUSED = {
    "import random\ndef solution():\n    return random.randint(1, 6)": "randomness",
    "from secrets import randbelow\nprint(randbelow(6))": "randomness",
    "import numpy as np\nprint(np.random.rand())": "randomness",
    "from numpy.random import default_rng\nprint(default_rng().random())": "randomness",
    "import time\nprint(time.time())": "a clock",
    "from datetime import datetime\nprint(datetime.now().year)": "reads a clock",
    "import datetime\nprint(datetime.date.today())": "reads a clock",
    "import os\nprint(os.getpid())": "files or processes",
    "import subprocess\nsubprocess.run(['ls'])": "files or processes",
    "from pathlib import Path\nprint(Path('x').read_text())": "files or processes",
    "import socket\nsocket.create_connection(('example.com', 80))": "the network",
    "import urllib.request\nurllib.request.urlopen('http://x')": "the network",
    "print(open('/proc/self/stat').read())": "open()",
    "print(eval('6*7'))": "eval()",
    "exec('x = 1')": "exec()",
    "m = __import__('random')\nprint(m.random())": "__import__()",
    "print(input())": "input()",
    "print(().__class__.__base__.__subclasses__())": "internals",
}


@pytest.mark.parametrize("code", list(REFUSED))
def test_the_screen_refuses_what_would_make_a_value_a_lie(code):
    problems = screen_program(code)
    assert problems, code
    assert REFUSED[code] in " ".join(problems)
    assert problems[0].startswith("line ")


@pytest.mark.parametrize(
    "code",
    [
        "def solution():\n    return sum(range(1, 101))",
        "import math\nfrom fractions import Fraction\nprint(Fraction(3, 4) + math.pi)",
        "import sympy\nx = sympy.Symbol('x')\nprint(sympy.solve(x**2 - 4, x))",
        "from datetime import date, timedelta\nprint(date(2024, 2, 28) + timedelta(days=2))",
        "from nanoflux_genomics.sequences import gc_content\nprint(gc_content('GGCC'))",
        "import itertools, collections, statistics, decimal\nprint(1)",
    ],
)
def test_the_screen_lets_pure_computation_through(code):
    assert screen_program(code) == []


def test_the_screen_names_the_line_of_a_syntax_error():
    (problem,) = screen_program("def solution(:\n    return 1")
    assert problem.startswith("line 1: syntax error")


def test_a_refused_program_never_starts_the_sandbox(monkeypatch):
    # a bwrap that does not exist: had the sandbox started, the error would name it
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, "/nonexistent/bwrap")
    with pytest.raises(ToolError, match=r"refused before running: line 1: imports random"):
        deterministic_value("import random\nprint(random.random())")


# -- run twice, in the real sandbox ----------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        # string hashing is salted per interpreter
        "def solution():\n    return hash('nanoflux') % 1_000_000_007",
        # an object's id is its address, which ASLR moves from run to run
        "def solution():\n    return id(object()) % 1_000_000_007",
    ],
)
def test_hash_and_id_are_refused_before_running(code):
    with pytest.raises(ToolError, match=r"refused before running: line 2: uses (hash|id)\(\)"):
        deterministic_value(code)


@needs_sandbox
@pytest.mark.parametrize(
    "code",
    [
        # the iteration order of a set of strings follows their salted hashes, and the
        # two runs are given different PYTHONHASHSEEDs
        "print(''.join(set('abcdefgh')))",
        "def solution():\n    return list({'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'})",
    ],
)
def test_a_program_whose_runs_differ_is_refused(code):
    assert screen_program(code) == []  # nothing in its syntax gives it away
    with pytest.raises(ToolError, match="non-deterministic: one run gave"):
        deterministic_value(code)


@needs_sandbox
def test_a_deterministic_program_gives_its_value():
    assert deterministic_value("def solution():\n    return sorted({3, 1, 2})") == [1, 2, 3]
    assert deterministic_value("print(2 ** 10)") == "1024"


@needs_sandbox
def test_the_python_tool_reports_refusals_as_failed_results():
    tool = python_tool("demo", importable="nothing more")
    assert tool.id == "demo.python" and "nothing more" in tool.description
    refused = tool.call({"code": "import time\nprint(time.time())"})
    assert not refused.ok and "refused" in refused.error and "a clock" in refused.error
    varying = tool.call({"code": "print(''.join(set('abcdefgh')))"})
    assert not varying.ok and "non-deterministic" in varying.error
    assert tool.call({"code": "print(6 * 7)"}).value == "42"


@needs_sandbox
def test_a_python_tool_can_provide_a_modules_functions_without_an_import():
    # the module's public functions, not its other names; the program's lines as written
    tool = python_tool("demo", provides="nanoflux.kit.stated")
    assert "the functions of nanoflux.kit.stated are there" in tool.description
    value = tool.call({"code": "def solution():\n    return written(20.0)\n"})
    assert value.ok and value.value == "20", value.error
    failed = tool.call({"code": "def solution():\n    x = 1\n    return REUSED\n"})
    assert "NameError" in failed.error and "(program.py line 3)" in failed.error
    refused = tool.call({"code": "import random\ndef solution():\n    return written(1)\n"})
    assert refused.error.startswith("refused before running: line 1: imports random")
    # a result named as the function it comes from is said in words, before any run
    shadowed = tool.call({"code": "def solution():\n    written = written(2)\n    return 1\n"})
    assert shadowed.error == (
        "refused before running: line 2: the program names a result written, the name of "
        "the function written() it calls: give the result another name"
    )
    # a provided name given to a result it does not call is only a name
    assert tool.call({"code": "def solution():\n    written = 2\n    return written\n"}).ok
    # a function the program defines is its own
    own = tool.call({"code": "def written(n):\n    return 'mine'\nprint(written(1))"})
    assert own.value == "mine"


@needs_sandbox
class TestKitPythonTool(JudgeToolContract):
    registered_as = "demo.python"

    @pytest.fixture
    def tool(self):
        return python_tool("demo")

    @pytest.fixture
    def cases(self):
        # Gauss: 1 + 2 + ... + 100 = 100 * 101 / 2
        return [({"code": "def solution():\n    return sum(range(1, 101))"}, 5050)]

    @pytest.fixture
    def applies_cases(self):
        question = _question("42")
        program = "def solution():\n    return 6 * 7\n"
        return [
            (question.model_copy(update={"program": program}), {"code": program}),
            (question, None),
        ]


# -- tools the Judge consults on its own ------------------------------------------------------


def _question(reference: str, text: str = "What is 6 times 7?", **more) -> Question:
    return Question(
        text=text,
        domain="demo",
        hops=1,
        skill="arithmetic",
        reference_answer=reference,
        solution_steps=["6 * 7 = 42"],
        **more,
    )


class DemoDomain(Domain):
    """No verify() of its own: everything comes from the tools that apply."""

    name = "demo"
    skills = ("arithmetic", "algebra", "counting")
    supports_programs = True

    def prompts(self):
        return PromptSet(attacker="Ask.", defender="$question", judge="$question")

    def check_answer(self, reference, candidate, *, choices=None):
        return float(reference) == float(candidate)


def _times(question: Question) -> dict | None:
    words = question.text.split()
    if "times" not in words:
        return None
    at = words.index("times")
    return {"a": float(words[at - 1]), "b": float(words[at + 1].rstrip("?"))}


class MulArgs(Record):
    a: float
    b: float


@judge_tool("demo.multiply", domain="demo", applies_to=_times)
def multiply(args: MulArgs) -> float:
    """a times b."""
    return args.a * args.b


@judge_tool("demo.double", domain="demo")
def double(args: MulArgs) -> float:
    """2a, called only by id: it does not say when it applies."""
    return 2 * args.a


class _DemoPlugin:
    @staticmethod
    @hookimpl
    def register_judge_tools(register):
        register(multiply)
        register(double)
        register(python_tool("demo"))

    @staticmethod
    @hookimpl
    def register_domains(register):
        register(DemoDomain())


@pytest.fixture
def demo_host():
    host = PluginHost.load(allow=[], extra=[("demo", _DemoPlugin)])
    assert not host.errors
    return host


def _gather(host, question, extra=()):
    consulted = consulted_tools(host, "demo", extra)
    return gather_evidence(host.domain("demo"), question, make_tool_caller(host), consulted)


def test_a_tool_that_applies_confirms_or_contradicts(demo_host):
    right = _gather(demo_host, _question("42"))
    assert [e.tool for e in right.evidence] == ["demo.multiply"]
    assert right.verified is True
    wrong = _gather(demo_host, _question("48"))
    assert wrong.verified is False
    assert "gives 42, which differs from the reference" in wrong.evidence[0].note


def test_a_tool_that_does_not_apply_says_nothing(demo_host):
    assert _gather(demo_host, _question("42", text="What is 6 plus 7?")).evidence == []


@needs_sandbox
def test_the_kit_python_tool_runs_the_program_of_a_domain_without_verify(demo_host):
    program = "def solution():\n    return 6 * 7\n"
    verification = _gather(demo_host, _question("42", text="Six sevens?", program=program))
    assert [e.tool for e in verification.evidence] == ["demo.python"]
    assert verification.verified is True


def test_configured_tools_must_exist_and_declare_when_they_apply(demo_host):
    with pytest.raises(ConfigError, match=r"judging\.tools: unknown judge tool 'nope\.tool'"):
        consulted_tools(demo_host, "demo", ["nope.tool"])
    with pytest.raises(ConfigError, match=r"demo\.double does not declare when it applies"):
        consulted_tools(demo_host, "demo", ["demo.double"])
    assert [t.id for t in consulted_tools(demo_host, "demo")] == ["demo.multiply", "demo.python"]


def test_safety_is_typed_not_read_from_tool_ids():
    flagged = _safety_evidence(safe=False)
    verification = Verification(evidence=[flagged])
    assert verification.safe is False
    rubric = Scores(
        reference_correct=True, defender_correct=False, coherence=4, safety=5, reasoning_quality=4
    )
    verdict = combine([rubric], verification, False)
    assert verdict.safety == 1 and "safety" in verdict.overridden_by_tools
    renamed = flagged.model_copy(update={"tool": "anything.at_all"})
    assert combine([rubric], Verification(evidence=[renamed]), False).safety == 1
    assert combine([rubric], Verification(evidence=[_safety_evidence(True)]), False).safety == 5


def _safety_evidence(safe: bool):
    value = {"safe": safe, "flags": [] if safe else ["advises doubling a dose"]}
    return screened(ToolEvidence(tool="x.screen", args={}, result=ToolResult(ok=True, value=value)))


# -- prompts declare their variables ------------------------------------------------------------


def test_a_template_with_an_unknown_variable_is_refused():
    with pytest.raises(ConfigError, match=r"the judge template uses unknown variable \$answer"):
        PromptSet(attacker="Ask.", defender="$question", judge="$question $answer")
    with pytest.raises(ConfigError, match=r"the defender template does not use \$question"):
        PromptSet(attacker="Ask.", defender="Answer it.", judge="$question")
    prompts = PromptSet(attacker="Ask.", defender="$question", judge="$question")
    with pytest.raises(ConfigError, match=r"prompts.attacker: the attacker template uses unknown"):
        prompts.with_overrides({"attacker": "Ask about $topic."})


@pytest.mark.parametrize(
    "value", ["prompts/my_atacker.txt", "my_atacker.md", "prompts\\attacker", "my prompts/a.txt"]
)
def test_a_prompt_override_that_looks_like_a_path_must_name_a_file(tmp_path, value):
    # once read as the template text itself: the attacker's needs no variable
    prompts = PromptSet(attacker="Ask.", defender="$question", judge="$question")
    with pytest.raises(ConfigError) as caught:
        prompts.with_overrides({"attacker": value}, base_dir=tmp_path)
    line = caught.value.one_line()
    assert line.startswith(f"prompts.attacker: no such file {tmp_path / value}")
    assert "\n" not in line


def test_a_prompt_override_is_a_file_it_names_or_else_the_template_itself(tmp_path):
    prompts = PromptSet(attacker="Ask.", defender="$question", judge="$question")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "attacker.txt").write_text("Ask about $domain.\n", "utf-8")
    (tmp_path / "judge").write_text("From a file: $question", "utf-8")  # no suffix: read too
    read = prompts.with_overrides(
        {"attacker": "prompts/attacker.txt", "judge": "judge", "defender": "Solve: $question"},
        base_dir=tmp_path,
    )
    assert read.attacker == "Ask about $domain.\n"
    assert read.judge == "From a file: $question"
    assert read.defender == "Solve: $question"  # a template: it has spaces
    # one word without a separator or a prompt suffix is a template
    assert prompts.with_overrides({"defender": "$question"}).defender == "$question"


def test_rendering_refuses_unknown_and_missing_variables():
    prompts = PromptSet(
        attacker="On $target_skill. $seed", defender="$question $choices", judge="$question"
    )
    with pytest.raises(ConfigError, match=r"unknown variable \$answer"):
        prompts.render("defender", question="Q", choices="", answer="A")
    with pytest.raises(ConfigError, match=r"\$choices not given"):
        prompts.render("defender", question="Q")
    attacker = dict.fromkeys(
        ["domain", "skills", "weak_skills", "recent_wrong", "avoid", "hops_min", "hops_max"], ""
    )
    # $seed is optional: left out, it renders as nothing; a dollar amount stays as written
    assert prompts.render("attacker", target_skill="ratios", **attacker) == "On ratios. "
    assert (
        PromptSet(attacker="Pay $5.", defender="$question", judge="$question").render(
            "attacker", target_skill="x", **attacker
        )
        == "Pay $5."
    )


# -- the JSONL benchmark reader ---------------------------------------------------------------


def test_jsonl_benchmark_reads_items_and_names_a_bad_line(tmp_path):
    load = jsonl_benchmark("finqa", question="q", answer="a", meta=("source",))
    good = tmp_path / "test.jsonl"
    good.write_text('{"q": "1 + 1?", "a": 2, "source": "x"}\n\n{"q": "Half of 3?", "a": "1.5"}\n')
    items = list(load(good))
    assert [(i.id, i.answer, i.meta) for i in items] == [
        ("finqa-test-1", "2", {"source": "x"}),
        ("finqa-test-3", "1.5", {}),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "1 + 1?", "a": 2}\n{"q": "", "a": 1}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: field 'q' is a str"):
        list(load(bad))
    choices = jsonl_benchmark("mc", question="q", answer="a", choices="options")
    mc = tmp_path / "mc.jsonl"
    mc.write_text('{"q": "Pick", "a": "B", "options": "A or B"}\n')
    with pytest.raises(DataFormatError, match="not a list of option texts"):
        list(choices(mc))
