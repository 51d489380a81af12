"""A run in each domain pack verifies the Attacker's answer with that pack's judge tools."""

import json
import re
import sys
from pathlib import Path

import pytest

from nanoflux.config import validate_config
from nanoflux.engine import run
from nanoflux.plugins import PluginHost

sys.path.insert(0, str(Path(__file__).parent))
import domain_round_models

from nanoflux.default_plugins.scripted import (
    attacking,
    defender_reply,
    program_reply,
    solving_blind,
)
from nanoflux.engine.programs import PROGRAM_REPLY_FORMAT

WRONG = {"math": "41", "genomics": "0.1", "medicine": "99"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))


@pytest.fixture
def attacker_asked(monkeypatch) -> list:
    """The requests the Attacker gets, in order, as the scripted models see them."""
    asked = []
    original = domain_round_models.model

    def recording(request):
        if attacking(request):
            asked.append(request)
        return original(request)

    monkeypatch.setattr(domain_round_models, "model", recording)
    return asked


def play_one_round(domain_name, question, tmp_path, wrong=None):
    host = PluginHost.load(allow=[domain_name])
    domain_round_models.QUESTION.clear()
    domain_round_models.QUESTION.update(question)
    domain_round_models.WRONG_ANSWER["value"] = wrong or WRONG[domain_name]
    model = {"spec": "scripted:domain_round_models:model"}
    config = validate_config(
        {
            "domain": domain_name,
            "attacker": model,
            "defender": model,
            "judge": model,
            "target": 1,
            "out": str(tmp_path / domain_name),
            "budget": {"max_rounds": 1},
            "novelty": {"embedder": "hashing", "store": "memory"},
            "acceptance": {"hops_min": 1},
        }
    )
    result = run(config, host)
    # the round's first attempt (a rejected one may be followed by a repair turn)
    return json.loads((result.out_dir / "candidates.jsonl").open().readline())


@pytest.mark.parametrize("domain_name", ["math", "genomics", "medicine"])
def test_run_uses_the_domain_tools(domain_name, tmp_path):
    domain = PluginHost.load(allow=[domain_name]).domain(domain_name)
    question = domain.example_question().model_dump()
    candidate = play_one_round(domain_name, question, tmp_path)
    assert candidate["decision"] == "accepted", candidate
    evidence = candidate["verdict"]["evidence"]
    assert evidence and all(e["tool"].startswith(f"{domain_name}.") for e in evidence)
    assert any(e["supports_reference"] is True for e in evidence)
    assert candidate["verdict"]["verified_by"] == "tools"


def test_math_is_code_first_the_program_is_the_reference_the_solve_the_solution(
    tmp_path, attacker_asked
):
    # The Attacker is asked for the problem and a program only, in free text (the
    # scripted model writes them in that form); the scripted blind solve reaches the
    # example's answer and becomes the worked solution.
    domain = PluginHost.load(allow=["math"]).domain("math")
    question = domain.example_question().model_dump()
    candidate = play_one_round("math", question, tmp_path)
    assert [r.json_schema for r in attacker_asked] == [None]
    assert attacker_asked[0].messages[-1].content.endswith(PROGRAM_REPLY_FORMAT)
    assert candidate["decision"] == "accepted", candidate
    assert candidate["question"]["reference_answer"] == question["reference_answer"]
    assert candidate["question"]["solution"].startswith("Solved it.")
    assert candidate["question"]["hops"] == len(candidate["question"]["solution_steps"]) >= 2
    # the steps are the program's computing lines
    assert all(step in question["program"] for step in candidate["question"]["solution_steps"])
    example = json.loads((tmp_path / "math" / "dataset.jsonl").read_text())
    assert example["messages"][1]["content"].startswith("Solved it.")
    assert example["messages"][1]["content"].endswith(
        f"Final answer: {question['reference_answer']}"
    )


def test_math_a_program_that_misreads_the_problem_is_caught_by_the_blind_solve(tmp_path):
    domain = PluginHost.load(allow=["math"]).domain("math")
    question = domain.example_question().model_dump()
    # the program answers something else than the problem asks: no solve reaches it
    wrong = question["program"].replace("return ", "return 1 + ", 1)
    candidate = play_one_round("math", {**question, "program": wrong}, tmp_path)
    assert candidate["reason"] == "judge_disagrees" and candidate["verdict"] is None
    assert candidate["findings"]["judge_answer"] == question["reference_answer"]


def attempt_and_repair(tmp_path, **changes):
    """The two candidate lines of a math round whose example question has ``changes``."""
    question = PluginHost.load(allow=["math"]).domain("math").example_question().model_dump()
    play_one_round("math", {**question, **changes}, tmp_path)
    lines = (tmp_path / "math" / "candidates.jsonl").read_text().splitlines()
    first, repair = (json.loads(line) for line in lines)
    return first, repair


def test_math_a_program_that_fails_gets_one_repair_turn(tmp_path, attacker_asked):
    from nanoflux.engine.feedback import FOLLOW_UP_MARK

    broken = "def solution():\n    return muffins * 3\n"
    first, repair = attempt_and_repair(tmp_path, program=broken)
    # no reference: rejected as unverified by the policy (not a failed role), the error kept
    assert (first["decision"], first["reason"]) == ("rejected", "unverified")
    assert "NameError" in first["findings"]["problems"][0]
    assert first["findings"]["draft"]["program"] == broken and first["question"] is None
    assert repair["turn"] == "repair" and repair["parent_id"] == first["candidate_id"]
    # the repair turn shows the reply in the form it was written in, and asks for it again
    shown = attacker_asked[1].messages[-1].content.split(FOLLOW_UP_MARK)[1]
    assert f"```python\n{broken}```" in shown and "NameError" in shown
    assert shown.strip().endswith("in the same form.")


def test_math_attacks_are_seeded_with_the_packs_training_problems(tmp_path, attacker_asked):
    domain = PluginHost.load(allow=["math"]).domain("math")
    play_one_round("math", domain.example_question().model_dump(), tmp_path)
    manifest = json.loads((tmp_path / "math" / "manifest.json").read_text())
    assert manifest["seeds"]["items"] == 811
    assert manifest["seeds"]["spec"].endswith("gsm8k-train-811.jsonl")
    seen = attacker_asked[0].messages[-1].content
    candidate = json.loads((tmp_path / "math" / "candidates.jsonl").read_text().splitlines()[0])
    # the candidate names the training problem its prompt showed
    seed = candidate["findings"]["seed"]
    assert seed.startswith("gsm8k-gsm8k-train-811-")
    lines = Path(domain.default_seeds().split(":", 2)[2]).read_text().split("\n")  # not U+2028
    record = json.loads(lines[int(seed.rsplit("-", 1)[1]) - 1])  # line N
    # shown as a reply in the Attacker's own form: the problem and the program its
    # solution's annotations spell (which recomputes the seed's answer)
    from nanoflux_math.worked_programs import gsm8k_program

    solution, answer = record["answer"].rsplit("####", 1)
    program = gsm8k_program(record["question"], solution, answer.strip())
    assert program is not None  # every seed the pack ships has one (fit to show)
    assert f"Problem: {record['question'][:200]}" in seen
    assert f"```python\n{program}```" in seen
    assert "Write a new problem with the same steps" in seen


def test_bench_yield_reports_what_a_fixed_budget_of_rounds_produced(tmp_path):
    from nanoflux.default_plugins.yield_bench import yield_benchmark

    domain = PluginHost.load(allow=["math"]).domain("math")
    domain_round_models.QUESTION.clear()
    domain_round_models.QUESTION.update(domain.example_question().model_dump())
    domain_round_models.WRONG_ANSWER["value"] = WRONG["math"]
    model = "scripted:domain_round_models:model"
    report = yield_benchmark(
        {
            "rounds": "2",
            "config.attacker.spec": model,
            "config.defender.spec": model,
            "config.judge.spec": model,
            "config.novelty.embedder": "hashing",
            "config.rounds.harder": "false",
        }
    )
    # round 0 is accepted; round 1 asks the same question again: a duplicate
    assert report["rounds"] == 2 and report["accepted"] == 1
    assert report["rejections"] == {"duplicate": 1}
    assert report["acceptance_rate"] == 0.5
    assert report["accepted_per_hour"] > 0 and report["accepted_per_million_tokens"] > 0
    assert set(report["seconds_per_round"]) == {"attacker", "defender", "judge"}
    assert report["options"]["config.rounds.harder"] == "false"


def test_math_a_problem_that_does_not_state_a_number_gets_one_repair_turn(tmp_path):
    vague = "A bakery sells muffins and cookies. What was its profit on Monday, in dollars?"
    first, repair = attempt_and_repair(tmp_path, text=vague)
    # caught before any model answered: no Defender, no Judge
    assert first["reason"] == "ill_posed" and first["answer"] is None
    assert first["usage"]["defender"]["calls"] == first["usage"]["judge"]["calls"] == 0
    assert "the problem does not state" in first["findings"]["problems"][0]
    assert repair["turn"] == "repair" and repair["parent_id"] == first["candidate_id"]


def test_a_defender_cut_off_before_its_answer_is_not_wrong_it_gave_none(tmp_path, monkeypatch):
    # a reply cut at the token limit ends on a step's number: "wrong" for no reason
    original = domain_round_models.model

    def cut_defender(request):
        if request.json_schema is None and not (solving_blind(request) or attacking(request)):
            return {"__cut__": "Muffins bring 45 * 3 = 135 dollars. Cookies are 2 * 45 = 90"}
        return original(request)

    monkeypatch.setattr(domain_round_models, "model", cut_defender)
    domain = PluginHost.load(allow=["math"]).domain("math")
    candidate = play_one_round("math", domain.example_question().model_dump(), tmp_path)
    assert candidate["reason"] == "malformed_defender" and candidate["answer"] is None
    assert "cut off at the token limit before its final answer" in candidate["error"]


def test_the_judges_verification_reuses_a_program_run_it_is_given():
    # code-first: the program ran once to give the reference; verifying does not run it
    # again (the run given here says 255 for a program that returns 315: it is used)
    import asyncio

    from nanoflux.engine.judge import Judge
    from nanoflux.records import ToolEvidence, ToolResult

    host = PluginHost.load(allow=["math"])
    domain = host.domain("math")
    question = domain.example_question()
    program = "def solution():\n    return 315\n"
    question = question.model_copy(update={"program": program, "reference_answer": "255"})
    judge = Judge(None, domain, host, template=domain.prompts().judge)
    run = ToolEvidence(
        tool="math.python", args={"code": program}, result=ToolResult(ok=True, value=255)
    )
    reused = asyncio.run(judge.verify(question, [run]))
    ran = asyncio.run(judge.verify(question))
    python = [e for e in reused.evidence if e.tool == "math.python"]
    assert [e.supports_reference for e in python] == [True]
    assert [e.supports_reference for e in ran.evidence if e.tool == "math.python"] == [False]


# -- medicine and genomics are code-first, as math is ---------------------------------------------


def example(domain_name: str, **changes) -> dict:
    domain = PluginHost.load(allow=[domain_name]).domain(domain_name)
    return {**domain.example_question().model_dump(), **changes}


@pytest.mark.parametrize("domain_name", ["genomics", "medicine"])
def test_a_right_program_is_the_reference_and_the_blind_solve_the_solution(
    domain_name, tmp_path, attacker_asked
):
    question = example(domain_name)
    candidate = play_one_round(domain_name, question, tmp_path)
    assert [r.json_schema for r in attacker_asked] == [None]
    brief = attacker_asked[0].messages[-1].content
    assert brief.endswith(PROGRAM_REPLY_FORMAT)
    # seeded with the pack's own problems, shown as a reply in the Attacker's form
    assert "Here is an example of a problem and its program:\nProblem: " in brief
    assert candidate["findings"]["seed"].startswith(f"{domain_name}-")
    if domain_name == "genomics":  # shown as the Attacker is to write it: no sequence typed
        assert "<sequence>" in brief and not re.search(r"[ACGTU]{12,}", brief)
    assert candidate["decision"] == "accepted", candidate
    accepted = candidate["question"]
    # the program's value, at the places it rounds to (genomics: round(gc, 1) = 60.0)
    assert float(accepted["reference_answer"]) == float(question["reference_answer"])
    assert accepted["solution"].startswith("Solved it.")
    program_runs = [e for e in candidate["verdict"]["evidence"] if e["tool"].endswith(".python")]
    assert [e["supports_reference"] for e in program_runs] == [True]


MISREAD = {
    # the female factor on a man; the GC content of the primer's first 10 bases
    "medicine": ("sex='male')", "sex='male') * 0.85"),
    "genomics": ("reverse_complement(primer)", "reverse_complement(primer)[:10]"),
}


@pytest.mark.parametrize("domain_name", ["genomics", "medicine"])
def test_a_program_that_misreads_its_problem_is_caught_by_the_blind_solve(domain_name, tmp_path):
    question = example(domain_name)
    wrong = question["program"].replace(*MISREAD[domain_name])
    assert wrong != question["program"]
    candidate = play_one_round(domain_name, {**question, "program": wrong}, tmp_path)
    assert candidate["reason"] == "judge_disagrees" and candidate["verdict"] is None
    assert candidate["findings"]["judge_answer"] == question["reference_answer"]


CG = (
    "from nanoflux_medicine.calculators import cockcroft_gault\n\n"
    "def solution():\n"
    "    clearance = cockcroft_gault(age={age}, weight_kg={weight}, creatinine_mg_dl=1.5, "
    "sex='{sex}')\n"
    "    return round(clearance)\n"
)
CG_TEXT = (
    "A 68-year-old man weighing {weight} kg has a serum creatinine of 1.5 mg/dL. Using the "
    "Cockcroft-Gault equation, what is his creatinine clearance in mL/min, to the nearest "
    "whole number?"
)
ILL_POSED = {
    # the old template's example, copied into a question that never states the height
    "parroted": (
        "A 70 kg person is weighed on Earth. What is their BMI, to one decimal?",
        "from nanoflux_medicine.calculators import bmi\n\ndef solution():\n"
        "    value = bmi(weight_kg=70, height_m=1.75)\n    return round(value, 1)\n",
        "1.75, which the problem does not state",
    ),
    "unstated": (
        CG_TEXT.format(weight=80),
        CG.format(age=68, weight=80, sex="female"),
        "sex='female', which the problem does not say",
    ),
    "out of range": (
        CG_TEXT.format(weight=800),
        CG.format(age=68, weight=800, sex="male"),
        "weight_kg=800, outside 2 to 300",
    ),
}


@pytest.mark.parametrize("case", list(ILL_POSED))
def test_medicine_an_ill_posed_vignette_is_caught_before_any_model_answers(case, tmp_path):
    text, program, said = ILL_POSED[case]
    play_one_round("medicine", example("medicine", text=text, program=program), tmp_path)
    lines = (tmp_path / "medicine" / "candidates.jsonl").read_text().splitlines()
    first, repair = (json.loads(line) for line in lines)
    assert first["reason"] == "ill_posed" and first["answer"] is None
    assert first["usage"]["defender"]["calls"] == first["usage"]["judge"]["calls"] == 0
    assert any(said in problem for problem in first["findings"]["problems"]), first
    assert repair["turn"] == "repair" and repair["parent_id"] == first["candidate_id"]


def test_medicine_unsafe_advice_in_the_worked_solution_is_rejected(tmp_path, monkeypatch):
    # code-first, the worked solution is the Judge's blind solve: it is screened too
    original = domain_round_models.model

    def unsafe_solve(request):
        if solving_blind(request):
            return defender_reply(
                "53", "CrCl is 53 mL/min. For the pain, take acetaminophen 8 g per day."
            )
        return original(request)

    monkeypatch.setattr(domain_round_models, "model", unsafe_solve)
    candidate = play_one_round("medicine", example("medicine"), tmp_path)
    assert candidate["reason"] == "unsafe" and candidate["verdict"] is None
    assert any(e["safe"] is False for e in candidate["findings"]["evidence"])


GUESS = "ATGGCCATTGTAATGGGCCGC"  # the sequence the Attacker writes, not what dna() builds


def genomics_round(tmp_path, monkeypatch, reply) -> tuple[list[dict], dict[str, list[str]]]:
    """A genomics round whose Attacker replies ``reply(brief)`` (text, program): its
    candidate lines, and the prompts of the other roles by role."""
    seen: dict[str, list[str]] = {"defender": [], "blind solve": [], "judge": []}
    original = domain_round_models.model

    def model(request):
        if attacking(request):
            return program_reply(*reply(request.messages[-1].content))
        role = "judge" if request.json_schema else "defender"
        seen["blind solve" if solving_blind(request) else role].append(
            "\n".join(m.content for m in request.messages)
        )
        return original(request)

    monkeypatch.setattr(domain_round_models, "model", model)
    play_one_round("genomics", example("genomics"), tmp_path)
    lines = (tmp_path / "genomics" / "candidates.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines], seen


def test_genomics_a_guessed_sequence_is_written_over_before_the_screen(tmp_path, monkeypatch):
    """The Attacker cannot know what ``dna(seed=N, length=L)`` builds; the pack writes it
    in place of its guess (``GenomicsDomain.complete``), and every role sees it."""
    from nanoflux_genomics.sequences import dna

    built, question = dna(seed=50, length=20), example("genomics")
    guessed = question["text"].replace(built, GUESS)
    assert guessed != question["text"]
    (candidate,), seen = genomics_round(
        tmp_path, monkeypatch, lambda brief: (guessed, question["program"])
    )
    assert candidate["decision"] == "accepted" and candidate["turn"] == "attack", candidate
    assert candidate["findings"]["completed"] == [
        f"replaced {GUESS} with {built} (dna(seed=50, length=20))"
    ]
    assert candidate["question"]["text"] == question["text"]
    # every role was asked the problem with the built sequence, and never the guess
    assert all(seen.values()), seen
    assert all(built in p and GUESS not in p for prompts in seen.values() for p in prompts)
    example_line = (tmp_path / "genomics" / "dataset.jsonl").read_text()
    assert built in example_line and GUESS not in example_line


def test_genomics_a_sequence_the_program_does_not_decide_still_gets_the_repair_turn(
    tmp_path, monkeypatch
):
    """A generator called with a number the program computes: nothing is written in, and
    the screen's repair turn says why; the mended program's sequence is then written in."""
    from nanoflux_genomics.sequences import dna

    from nanoflux.engine.feedback import FOLLOW_UP_MARK

    built, question = dna(seed=50, length=20), example("genomics")
    guessed = question["text"].replace(built, GUESS)
    computed = question["program"].replace("length=20", "length=len('abcd') * 5")

    def mends_when_told(brief):
        told = FOLLOW_UP_MARK in brief and "must be called with numbers written" in brief
        return guessed, question["program"] if told else computed

    (first, repair), _ = genomics_round(tmp_path, monkeypatch, mends_when_told)
    assert first["reason"] == "ill_posed" and first["answer"] is None
    assert "completed" not in first["findings"] and first["question"]["text"] == guessed
    assert any("dna() must be called with numbers" in p for p in first["findings"]["problems"])
    assert repair["turn"] == "repair" and repair["decision"] == "accepted", repair
    assert repair["question"]["text"] == question["text"]
    assert repair["findings"]["completed"] == [
        f"replaced {GUESS} with {built} (dna(seed=50, length=20))"
    ]


def _shown_seed(brief: str) -> tuple[dict, str]:
    """The pack's seed problem the Attacker's brief shows, and its problem as shown (its
    sequences left as ``<sequence>``, :meth:`GenomicsDomain.as_drafted`)."""
    from nanoflux_genomics import GenomicsDomain
    from nanoflux_genomics.screen import seeds_path

    from nanoflux.records import BenchmarkItem

    seeds = [json.loads(line) for line in Path(seeds_path()).read_text().splitlines() if line]
    shown = [
        (seed, GenomicsDomain().as_drafted(item).question)
        for seed in seeds
        for item in [
            BenchmarkItem(id="s", question=seed["question"], answer="0", program=seed["program"])
        ]
    ]
    (found,) = [(seed, drafted) for seed, drafted in shown if drafted in brief]
    return found


COPIES = {
    # the seed's problem as shown, and new seed numbers in its program: the pack writes
    # other sequences in, and it is still the problem it was shown
    "new seed numbers": lambda seed, drafted: (
        drafted,
        re.sub(r"seed=(\d+)", lambda m: f"seed={int(m[1]) + 1}", seed["program"]),
    ),
    # as shown, with the seed's program: written in, the problem is the seed's again
    "the seed's program": lambda seed, drafted: (drafted, seed["program"]),
    # the seed's problem whole, as a model might know it, one sequence mistyped: written
    # in, the problem is the seed's again
    "a mistyped sequence": lambda seed, drafted: (
        re.sub(r"(?<![A-Za-z])[ACGTU]{6,}(?![A-Za-z])", GUESS, seed["question"], count=1),
        seed["program"],
    ),
}


@pytest.mark.parametrize("case", list(COPIES))
def test_genomics_a_copy_of_the_seed_is_still_a_copy(case, tmp_path, monkeypatch):
    shown = []

    def copies(brief):
        shown.append(_shown_seed(brief))
        return COPIES[case](*shown[-1])

    candidates, _ = genomics_round(tmp_path, monkeypatch, copies)
    first = candidates[0]
    assert first["reason"] == "copied_prompt", first
    seed, drafted = shown[0]
    assert "<sequence>" in drafted and seed["question"] not in drafted


# -- multiple choice: the program decides the key ---------------------------------------------

OPTIONS = "\nA. 45 mL/min\nB. 53 mL/min\nC. 60 mL/min\nD. 64 mL/min"


def test_medicine_a_multiple_choice_vignette_is_keyed_by_its_program(tmp_path):
    """Options after the vignette make it multiple choice: the option that is the
    program's value (53) is the key; the Defender and the blind solve answer a letter,
    and the program's run confirms the keyed option."""
    text = CG_TEXT.format(weight=80)
    program = CG.format(age=68, weight=80, sex="male")
    question = example("medicine", text=text + OPTIONS, program=program, reference_answer="B")
    candidate = play_one_round("medicine", question, tmp_path, wrong="A")
    assert candidate["decision"] == "accepted", candidate
    assert candidate["answer"]["final_answer"] == "A"
    accepted = candidate["question"]
    assert accepted["text"] == text and accepted["reference_answer"] == "B"
    assert accepted["choices"] == ["45 mL/min", "53 mL/min", "60 mL/min", "64 mL/min"]
    runs = [e for e in candidate["verdict"]["evidence"] if e["tool"] == "medicine.python"]
    assert [e["supports_reference"] for e in runs] == [True]
    example_line = (tmp_path / "medicine" / "dataset.jsonl").read_text().splitlines()
    user = json.loads(example_line[0])["messages"][0]["content"]
    assert user == f"{text}\n\n{OPTIONS.strip()}"


@pytest.mark.parametrize(
    "options, said",
    [
        ("\nA. low\nB. normal\nC. high\nD. very high", "returned 53, which is none of the options"),
        (OPTIONS.replace("60", "53.0"), "returned 53, which matches options B and C"),
        (OPTIONS.replace("60", "53"), "two of the options are the same"),
    ],
)
def test_medicine_options_that_do_not_key_one_option_get_the_repair_turn(options, said, tmp_path):
    program = CG.format(age=68, weight=80, sex="male")
    text = CG_TEXT.format(weight=80) + options
    play_one_round("medicine", example("medicine", text=text, program=program), tmp_path)
    lines = (tmp_path / "medicine" / "candidates.jsonl").read_text().splitlines()
    first, repair = (json.loads(line) for line in lines)
    assert first["reason"] == "unverified" and first["answer"] is None
    assert any(said in problem for problem in first["findings"]["problems"]), first
    assert repair["turn"] == "repair" and repair["parent_id"] == first["candidate_id"]


def test_medicine_options_that_all_missed_the_value_get_it_in_the_nearest(tmp_path):
    """The Attacker's arithmetic slipped: none of its options is the program's 53. The
    program writes its value into the nearest option (55 mL/min), the other options stay
    the Attacker's, and the change is written down."""
    program = CG.format(age=68, weight=80, sex="male")
    text = CG_TEXT.format(weight=80) + OPTIONS.replace("53", "55")
    question = example("medicine", text=text, program=program, reference_answer="B")
    candidate = play_one_round("medicine", question, tmp_path, wrong="A")
    assert candidate["decision"] == "accepted", candidate
    assert candidate["question"]["choices"] == ["45 mL/min", "53 mL/min", "60 mL/min", "64 mL/min"]
    assert candidate["question"]["reference_answer"] == "B"
    assert candidate["findings"]["completed"] == ["option B is now the program's value, 53"]


def test_medicine_a_label_asked_without_options_is_told_to_give_options(tmp_path):
    """A CKD stage is an answer only as an option: asked without options, the repair
    turn says how to ask it (a 1.5B trial asked for stages without options 3 times)."""
    program = CG.format(age=68, weight=80, sex="male").replace(
        "    return round(clearance)\n", "    return 'G3a' if clearance < 60 else 'G2'\n"
    )
    play_one_round("medicine", example("medicine", program=program), tmp_path)
    first = json.loads((tmp_path / "medicine" / "candidates.jsonl").open().readline())
    assert first["reason"] == "unverified"
    (problem,) = first["findings"]["problems"]
    assert problem.endswith("end the problem on 4 options, one a line (A. to D.), one of them G3a")
