"""The round's yield features with scripted models: repair and harder turns, pass-rate
sampling, copied answers, the memory of rejected questions, seeds, the skill budget."""

import json
import random
from collections import Counter

import pytest

from nanoflux.config import validate_config
from nanoflux.engine import run
from nanoflux.engine.profile import DefenderProfile

RESPONDERS = "scripted:nanoflux_test_arith"
STRIDE = 1_000_003


def config(tmp_path, **overrides):
    data = {
        "domain": "arith",
        "attacker": {"spec": f"{RESPONDERS}:model"},
        "defender": {"spec": f"{RESPONDERS}:other_model"},
        "judge": {"spec": f"{RESPONDERS}:model"},
        "alternate": False,
        "target": 50,
        "out": str(tmp_path / "run"),
        "novelty": {"embedder": "hashing", "store": "memory"},
        "budget": {"max_rounds": 1},
        # the Judge's blind solve has tests of its own below
        "acceptance": {"require_independent_solve": False},
    }
    for key, value in overrides.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return validate_config(data)


def candidates(result):
    path = result.out_dir / "candidates.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def with_blind_solve(path, **overrides):
    """The run's config with the Judge's blind solve required, as code-first requires it."""
    return config(path, **{"acceptance.require_independent_solve": True, **overrides})


def follow_up(request) -> bool:
    """The Attacker is being asked to rework its question (the conversation goes on)."""
    from nanoflux.engine.feedback import FOLLOW_UP_MARK

    return FOLLOW_UP_MARK in request.messages[-1].content


def test_an_unverified_question_gets_one_repair_turn(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    def attacker(request):
        question = arith.question_for(arith.round_of(request) + 1)
        if not follow_up(request):
            question["reference_answer"] = "7"  # the program says otherwise
        else:
            assert "differs" in request.messages[-1].content or "program" in (
                request.messages[-1].content
            )
        return question

    monkeypatch.setattr(arith, "attacker", attacker)
    rows = candidates(run(config(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "unverified"),
        ("repair", "accepted"),
    ]
    assert rows[1]["parent_id"] == rows[0]["candidate_id"] == "0.0"
    # the unverified question never reached the Defender or the Judge
    assert rows[0]["usage"]["defender"]["calls"] == 0 and rows[0]["usage"]["judge"]["calls"] == 0


def test_a_repair_is_not_repaired_again(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    def attacker(request):
        # a repair that changes the question, and is still wrong
        question = arith.question_for(arith.round_of(request) + (2 if follow_up(request) else 1))
        question["reference_answer"] = "7"
        return question

    monkeypatch.setattr(arith, "attacker", attacker)
    rows = candidates(run(config(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "unverified"),
        ("repair", "unverified"),
    ]


def test_a_solved_question_gets_one_harder_turn(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    told = []

    def attacker(request):
        index = arith.round_of(request)
        if follow_up(request):
            told.append(request.messages[-1].content)
        return arith.question_for(index + 100 if follow_up(request) else index)

    def defender(request):
        # right on the first question (round 0), wrong on the harder one
        text = request.messages[-1].content
        truth = next(
            int(q["reference_answer"])
            for q in (arith.question_for(0), arith.question_for(100))
            if q["text"] in text
        )
        return {"reasoning": "r", "final_answer": str(truth if "inventory 0)" in text else 1)}

    monkeypatch.setattr(arith, "attacker", attacker)
    monkeypatch.setattr(arith, "defender", defender)
    rows = candidates(run(config(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "defender_correct"),
        ("harder", "accepted"),
    ]
    assert rows[1]["parent_id"] == "0.0"
    # the Attacker is told what the Defender answered (the right answer, here)
    assert len(told) == 1 and "solved that one" in told[0]
    assert f"its answer: {arith.question_for(0)['reference_answer']}" in told[0]
    assert rows[0]["findings"]["defender_correct"] is True
    # the Judge is only asked about the question that can be accepted
    assert rows[0]["usage"]["judge"]["calls"] == 0 and rows[1]["usage"]["judge"]["calls"] == 1


def test_an_unchanged_rewrite_is_not_played_again(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "defender", lambda r: {"reasoning": "", "final_answer": "0"})
    monkeypatch.setattr(
        arith,
        "defender",
        lambda r: {
            "reasoning": "",
            "final_answer": arith.question_for(0)["reference_answer"],
        },
    )
    rows = candidates(run(config(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "defender_correct"),
        ("harder", "copied_prompt"),  # the same question handed back
    ]
    assert rows[1]["usage"]["defender"]["calls"] == 0


def test_pass_rate_over_k_samples_is_recorded_and_bounded(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    def sample_of(request) -> int:
        return request.seed // (97 * STRIDE)

    def defender(request):
        truth = int(arith.question_for(arith.round_of(request))["reference_answer"])
        index = arith.round_of(request)
        # round 0: the first answer wrong, the three samples right (pass rate 0.75)
        # round 1: the first answer wrong, one sample right (pass rate 0.25)
        right = sample_of(request) >= 1 if index == 0 else sample_of(request) == 1
        return {"reasoning": "r", "final_answer": str(truth if right else truth + 1)}

    monkeypatch.setattr(arith, "defender", defender)
    cfg = config(
        tmp_path,
        **{
            "rounds.defender_samples": 4,
            "rounds.harder": False,
            "acceptance.max_pass_rate": 0.5,
            "budget.max_rounds": 2,
        },
    )
    rows = candidates(run(cfg, arith_host))
    assert [r["reason"] for r in rows] == ["defender_pass_rate", "accepted"]
    assert [r["findings"]["pass_rate"] for r in rows] == [0.75, 0.25]
    assert [r["usage"]["defender"]["calls"] for r in rows] == [4, 4]
    assert len(rows[1]["findings"]["defender_answers"]) == 4
    dataset = (cfg.out / "dataset.jsonl").read_text()
    assert '"pass_rate": 0.25' in dataset


def test_an_answer_copied_from_the_prompt_is_not_a_defender_error(
    tmp_path, arith_host, monkeypatch
):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "defender", lambda r: {"reasoning": "", "final_answer": "4321"})
    cfg = config(
        tmp_path,
        **{
            "prompts.defender": 'Answer: $question $choices\nFormat: {"final_answer": "4321"}',
            "budget.max_rounds": 2,
        },
    )
    rows = candidates(run(cfg, arith_host))
    assert {r["reason"] for r in rows} == {"copied_prompt"}
    assert all(r["answer"]["final_answer"] == "4321" for r in rows)


def test_a_question_like_one_already_rejected_costs_no_round(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "question_for", lambda index, f=arith.question_for: f(0))
    cfg = config(tmp_path, **{"budget.max_rounds": 3, "rounds.harder": False})
    rows = candidates(run(cfg, arith_host))
    # round 0's Defender is right; later rounds repeat that question
    assert [r["reason"] for r in rows] == [
        "defender_correct",
        "repeats_rejected",
        "repeats_rejected",
    ]
    assert rows[1]["usage"]["defender"]["calls"] == 0
    assert rows[1]["findings"]["rejected_similarity"] >= 0.9
    # the memory is rebuilt on resume
    resumed = run(
        cfg.model_copy(update={"budget": cfg.budget.model_copy(update={"max_rounds": 4})}),
        arith_host,
        resume=True,
    )
    assert candidates(resumed)[-1]["reason"] == "repeats_rejected"


def seeded_run(tmp_path, arith_host, monkeypatch, text, seen=None):
    """A round seeded with "Ann has 3 boxes of 4 pens" whose Attacker writes ``text``."""
    import nanoflux_test_arith as arith

    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        json.dumps({"question": "Ann has 3 boxes of 4 pens. How many pens?", "answer": "12"}) + "\n"
    )

    def attacker(request):
        if seen is not None:
            seen.append(request.messages[0].content)
        return {**arith.question_for(arith.round_of(request)), "text": text}

    monkeypatch.setattr(arith, "attacker", attacker)
    cfg = config(
        tmp_path,
        **{
            "rounds.seeds": f"arith:lines:{seeds}",
            "prompts.attacker": "Write a question. $seed",
            "rounds.harder": False,
        },
    )
    return candidates(run(cfg, arith_host))


def test_seeds_reach_the_attacker_and_a_copied_seed_is_rejected(tmp_path, arith_host, monkeypatch):
    seen = []
    rows = seeded_run(
        tmp_path, arith_host, monkeypatch, "Ann has 3 boxes of 4 pens. How many pens?", seen
    )
    assert "Ann has 3 boxes of 4 pens" in seen[0] and "answer: 12" in seen[0]
    assert rows[0]["reason"] == "copied_prompt"


def test_a_seed_copied_whole_with_lines_of_its_own_is_copied(tmp_path, arith_host, monkeypatch):
    # seen from Qwen2.5-Coder-1.5B: the seed verbatim, then the program's lines as text
    text = "Ann has 3 boxes of  4 pens. How many pens?\n\nboxes = 3\npens = 4"
    assert seeded_run(tmp_path, arith_host, monkeypatch, text)[0]["reason"] == "copied_prompt"


def test_attacks_follow_the_defenders_failures():
    profile = DefenderProfile()
    for _ in range(20):
        profile.observe("fractions", "q", "a", correct=False)
        profile.observe("counting", "q", "a", correct=True)
    rng = random.Random(0)
    picks = Counter(
        profile.pick_target(["fractions", "counting", "geometry"], rng) for _ in range(600)
    )
    # failure ratios 21/22, 1/22 and an untried 1/2
    assert picks["fractions"] > picks["geometry"] > picks["counting"] > 0
    assert abs(picks["fractions"] / 600 - (21 / 22) / (21 / 22 + 1 / 22 + 0.5)) < 0.06


def test_a_judge_reply_cut_off_in_its_rationale_keeps_its_scores():
    from nanoflux.engine.roles import salvage_last_string
    from nanoflux.engine.schemas import SCORES_SCHEMA

    whole = (
        '{"reference_correct": true, "defender_correct": false, "hops_real": true, '
        '"coherence": 4, "safety": 5, "reasoning_quality": 4, "rationale": "The steps '
    )
    assert salvage_last_string(whole + "follow and then it rambles", SCORES_SCHEMA) == {
        "reference_correct": True,
        "defender_correct": False,
        "hops_real": True,
        "coherence": 4,
        "safety": 5,
        "reasoning_quality": 4,
        "rationale": "The steps follow and then it rambles",
    }
    # cut anywhere else, nothing is made up
    assert salvage_last_string(whole[:70], SCORES_SCHEMA) is None


def test_steps_the_attacker_numbered_itself_are_numbered_once():
    from nanoflux.engine.example import assistant_message
    from nanoflux.records import Question

    question = Question(
        text="t",
        skill="s",
        reference_answer="262.2",
        solution_steps=["1. 15% of 120 = 18", "Step 2: 120 + 18 = 138", "10% of 138 = 13.8"],
    )
    assert question.hops == 3  # counted from the steps
    assert assistant_message(question) == (
        "1. 15% of 120 = 18\n2. 120 + 18 = 138\n3. 10% of 138 = 13.8\n\nFinal answer: 262.2"
    )


def test_the_judge_solving_blind_must_reach_the_reference(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    from nanoflux.default_plugins.scripted import defender_reply

    def misreading_solver(request):
        index = arith.round_of(request)
        truth = int(arith.question_for(index)["reference_answer"])
        return defender_reply(str(truth if index == 1 else truth * 2), "My own reading.")

    monkeypatch.setattr(arith, "solver", misreading_solver)
    cfg = with_blind_solve(tmp_path, **{"budget.max_rounds": 3})
    rows = candidates(run(cfg, arith_host))
    reasons = [(r["round"], r["turn"], r["reason"]) for r in rows]
    # round 0: the Defender is right (no need to ask the Judge); round 2: the Judge's
    # own solve disagrees with the reference, so the rubric is never asked
    assert (1, "attack", "accepted") in reasons and (2, "attack", "judge_disagrees") in reasons
    disagreed = next(r for r in rows if r["reason"] == "judge_disagrees")
    assert disagreed["findings"]["judge_agrees"] is False
    # where it went astray is on the record; an agreeing solve is the example's solution
    assert disagreed["findings"]["judge_solution"].startswith("My own reading.")
    assert disagreed["usage"]["judge"]["calls"] == 1  # the solve, not the rubric
    accepted = next(r for r in rows if r["reason"] == "accepted")
    assert accepted["findings"]["judge_agrees"] is True
    assert "judge_solution" not in accepted["findings"]
    assert accepted["usage"]["judge"]["calls"] == 2  # the solve, then the rubric


@pytest.mark.parametrize(
    "label",
    ["| its wrong answer: 0.20", "Its wrong answer: 16.67"],  # as the prompt, as a sentence
)
def test_a_question_that_carries_the_prompts_list_label_is_copied(
    tmp_path, arith_host, monkeypatch, label
):
    import nanoflux_test_arith as arith

    def attacker(request):
        question = arith.question_for(arith.round_of(request) + 1)
        question["text"] += f" {label}"  # a list line of its prompt
        return question

    monkeypatch.setattr(arith, "attacker", attacker)
    rows = candidates(run(config(tmp_path, **{"rounds.harder": False}), arith_host))
    assert [r["reason"] for r in rows] == ["copied_prompt"]
    assert rows[0]["usage"]["defender"]["calls"] == 0


def three_steps(question: dict) -> dict:
    """``question`` with one more step: add 1 at the end."""
    total = int(question["reference_answer"]) + 1
    return {
        **question,
        "text": question["text"].replace("How many", "One more is bought. How many"),
        "hops": 3,
        "solution_steps": [*question["solution_steps"], f"{total - 1} + 1 = {total}"],
        "reference_answer": str(total),
        "program": question["program"] + " + 1",
    }


def test_a_question_with_too_few_steps_gets_the_harder_turn(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    told = []

    def attacker(request):
        question = arith.question_for(arith.round_of(request))  # two steps
        if not follow_up(request):
            return question
        told.append(request.messages[-1].content)
        return three_steps(question)

    monkeypatch.setattr(arith, "attacker", attacker)
    rows = candidates(run(config(tmp_path, **{"acceptance.hops_min": 3}), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "hops_out_of_band"),
        ("harder", "accepted"),
    ]
    assert rows[1]["parent_id"] == "0.0" and rows[1]["question"]["hops"] == 3
    assert "only 2 calculation steps" in told[0] and "at least 3" in told[0]
    # rejected for free: no Defender, no Judge
    assert rows[0]["usage"]["defender"]["calls"] == rows[0]["usage"]["judge"]["calls"] == 0


def test_a_question_with_too_many_steps_gets_no_further_turn(tmp_path, arith_host, monkeypatch):
    rows = candidates(
        run(config(tmp_path, **{"acceptance.hops_max": 1, "acceptance.hops_min": 1}), arith_host)
    )
    assert [(r["turn"], r["reason"]) for r in rows] == [("attack", "hops_out_of_band")]


def test_a_question_the_blind_solve_does_not_reach_gets_one_repair_turn(
    tmp_path, arith_host, monkeypatch
):
    import nanoflux_test_arith as arith

    from nanoflux.default_plugins.scripted import defender_reply

    told = []

    def attacker(request):
        index = arith.round_of(request)
        if follow_up(request):
            told.append(request.messages[-1].content)
            return arith.question_for(index + 50)  # reworded: now read one way only
        return arith.question_for(index)

    def solver(request):
        # reads the first question another way (twice the truth); the repaired one right
        text = request.messages[-1].content
        first = arith.question_for(0)
        truth = int(first["reference_answer"])
        if first["text"] in text:
            return defender_reply(str(truth * 2), "My own reading.")
        return defender_reply(arith.question_for(50)["reference_answer"], "Worked it out.")

    monkeypatch.setattr(arith, "attacker", attacker)
    monkeypatch.setattr(arith, "solver", solver)
    monkeypatch.setattr(arith, "defender", lambda r: defender_reply("1", "I guessed."))
    rows = candidates(run(with_blind_solve(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "judge_disagrees"),
        ("repair", "accepted"),
    ]
    assert rows[1]["parent_id"] == "0.0" and rows[1]["findings"]["judge_agrees"] is True
    # the repair is asked blind: it shows the Attacker its own question, not the solver's
    # answer, and its instruction names no value
    first = arith.question_for(0)
    written, instruction = told[0].rsplit("\n\n", 1)
    assert first["text"] in written and "did not reach" in instruction
    assert str(int(first["reference_answer"]) * 2) not in told[0]
    assert not any(ch.isdigit() for ch in instruction)
    # and a repair that the solver still does not reach is not repaired again
    monkeypatch.setattr(arith, "solver", lambda r: defender_reply("0", "Another reading."))
    rows = candidates(run(with_blind_solve(tmp_path / "again"), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "judge_disagrees"),
        ("repair", "judge_disagrees"),
    ]


def test_a_repair_handed_back_unchanged_is_not_played_again(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    from nanoflux.default_plugins.scripted import defender_reply

    # the solver never reaches the reference; the Attacker hands its question back
    monkeypatch.setattr(arith, "solver", lambda r: defender_reply("0", "Another reading."))
    monkeypatch.setattr(arith, "defender", lambda r: defender_reply("1", "I guessed."))
    rows = candidates(run(with_blind_solve(tmp_path), arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "judge_disagrees"),
        ("repair", "copied_prompt"),
    ]
    assert rows[1]["usage"]["defender"]["calls"] == rows[1]["usage"]["judge"]["calls"] == 0


def test_a_solution_closes_on_one_canonical_final_answer_line():
    from nanoflux.engine.example import assistant_message
    from nanoflux.records import Question

    steps = "1. Field 1 is 20 acres.\n2. Field 3 = 3 * 20 = 60 acres."
    # the closing lines small models wrote in real runs: numbered, bold, with units and a
    # currency sign, the label twice, a GSM8K marker, trailing blank lines
    for last in (
        "4. Final answer: 60",
        "**Final answer: 60**",
        "Final answer: 60",
        "3. Final answer: 60 acres",
        "Final answer: $60",
        "Final answer: Final answer: 60",
        "#### 60",
        "**Answer:** 60\n\n",
        "**Final Answer:**\n\\[\n\\boxed{60}\n\\]",
    ):
        question = Question(
            text="t",
            skill="s",
            reference_answer="60",
            solution_steps=["3 * 20 = 60"],
            solution=f"{steps}\n{last}",
        )
        message = assistant_message(question)
        assert message == f"{steps}\n\nFinal answer: 60", last
        assert message.lower().count("answer") == 1
    # the label inside the last step's prose goes; its words stay
    question = question.model_copy(
        update={"solution": f"{steps}\n3. Therefore the field is \\(Final answer: 60\\)."}
    )
    assert assistant_message(question) == (
        f"{steps}\n3. Therefore the field is \\(60\\).\n\nFinal answer: 60"
    )
    question = Question(
        text="t",
        skill="s",
        reference_answer="60",
        solution_steps=["3 * 20 = 60"],
        solution="3 * 20 = 60",
    )
    assert assistant_message(question) == "3 * 20 = 60\n\nFinal answer: 60"


def test_drafts_each_take_the_free_checks_and_those_that_pass_go_on(
    tmp_path, arith_host, monkeypatch
):
    """rounds.drafts = 3: three drafts from one prompt (seeds s, s+1, s+2). The first has
    too few steps, the second goes on and is accepted, the third is the second again."""
    import nanoflux_test_arith as arith

    prompts = []

    def attacker(request):
        prompts.append((request.seed, request.messages[-1].content))
        question = arith.question_for(arith.round_of(request) + 1)
        if request.seed % 10 == 0:
            question["hops"], question["solution_steps"] = 1, question["solution_steps"][:1]
        return question

    def defender(request):
        truth = int(arith.question_for(arith.round_of(request) + 1)["reference_answer"])
        return arith.defender_reply(str(truth + 1), "I added.")

    monkeypatch.setattr(arith, "attacker", attacker)
    monkeypatch.setattr(arith, "defender", defender)
    cfg = config(tmp_path, **{"rounds.drafts": 3, "rounds.repair": False})
    rows = candidates(run(cfg, arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "hops_out_of_band"),
        ("attack", "accepted"),
        ("attack", "duplicate"),
    ]
    assert [seed % 10 for seed, _ in prompts] == [0, 1, 2]
    assert len({text for _, text in prompts}) == 1  # one prompt
    assert [r["usage"]["attacker"]["calls"] for r in rows] == [1, 1, 1]
    # only the draft that passed reached the Defender and the Judge
    assert [r["usage"]["defender"]["calls"] for r in rows] == [0, 1, 0]
    assert [r["usage"]["judge"]["calls"] > 0 for r in rows] == [False, True, False]


def test_a_draft_like_one_the_judge_never_reached_still_gets_its_chance(
    tmp_path, arith_host, monkeypatch
):
    """Drafts of one prompt often tell one story: the Defender solves the first, so the
    second (the same question here) goes on, and is accepted."""
    import nanoflux_test_arith as arith

    answered = []

    def attacker(request):
        return arith.question_for(arith.round_of(request) + 1)

    def defender(request):
        truth = int(arith.question_for(arith.round_of(request) + 1)["reference_answer"])
        answered.append(truth)
        return arith.defender_reply(str(truth if len(answered) == 1 else truth + 1), "I added.")

    monkeypatch.setattr(arith, "attacker", attacker)
    monkeypatch.setattr(arith, "defender", defender)
    cfg = config(tmp_path, **{"rounds.drafts": 2, "rounds.harder": False})
    rows = candidates(run(cfg, arith_host))
    assert [(r["turn"], r["reason"]) for r in rows] == [
        ("attack", "defender_correct"),
        ("attack", "accepted"),
    ]
