"""Evaluation you can trust: named protocols, validity flags, copied answers, and no
comparison across protocols. Scripted models stand in for the model (what is tested is
the harness around it); the prompts and the checker are the math pack's real ones."""

import json

import pytest
from click.testing import CliRunner

from nanoflux.answers import copied_from_prompt, shown_answers
from nanoflux.cli import make_cli
from nanoflux.evaluation import read_eval

QUESTIONS = [
    ("Tom has 3 boxes of 4 pens. How many pens?", "12"),
    ("A bus carries 20 people and 5 get off. How many remain?", "15"),
    ("Ann reads 7 pages a day for 3 days. How many pages?", "21"),
    ("There are 9 birds and 4 fly away. How many are left?", "5"),
    ("A pack has 6 eggs. How many eggs in 5 packs?", "30"),
    ("Sam had 50 dollars and spent 18. How much is left?", "32"),
    ("A box holds 8 apples. How many in 4 boxes?", "32"),
    ("Lia has 40 stamps and gives away 15. How many are left?", "25"),
    ("A car drives 60 km an hour for 2 hours. How far?", "120"),
    ("Ben buys 3 pens at 2 dollars each. What does he pay?", "6"),
    ("There are 12 eggs and 5 break. How many are whole?", "7"),
    ("Kim runs 5 km a day for 6 days. How far in all?", "30"),
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "nanoflux-home"))


def gsm8k_file(path, pairs):
    path.write_text(
        "".join(json.dumps({"question": q, "answer": f"steps\n#### {a}"}) + "\n" for q, a in pairs)
    )
    return path


@pytest.fixture
def benchmark(tmp_path):
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    gsm8k_file(folder / "dev.jsonl", QUESTIONS)
    train = [
        ("Natalia sold 48 clips in April and half as many in May. How many in all?", "72"),
        ("Weng earns 12 dollars an hour. She worked 5 hours. How much did she earn?", "60"),
    ]
    (folder / "train.jsonl").write_text(
        "".join(
            json.dumps({"question": q, "answer": f"48/2 = <<48/2=24>>24.\n#### {a}"}) + "\n"
            for q, a in train
        )
    )
    return folder / "dev.jsonl"


def write_replies(path, replies):
    path.write_text("".join(json.dumps(r) + "\n" for r in replies))
    return f"scripted:{path}"


def invoke(*args):
    from nanoflux.plugins import PluginHost

    return CliRunner().invoke(make_cli(PluginHost.load), list(args), catch_exceptions=False)


def test_no_defender_prompt_shows_an_answer_value():
    # The "7" parrot: a value in the format example is what a small model copies.
    from nanoflux_genomics import GenomicsDomain
    from nanoflux_math import MathDomain
    from nanoflux_medicine import MedicineDomain

    from nanoflux.evaluation.protocols import JSON_INSTRUCTION

    prompts = [
        domain.prompts().render("defender", question="Q", choices="")
        for domain in (MathDomain(), GenomicsDomain(), MedicineDomain())
    ]
    for prompt in [*prompts, JSON_INSTRUCTION]:
        assert "final answer" in prompt.lower() or '"final_answer"' in prompt
        for shown in shown_answers(prompt):
            assert not any(ch.isdigit() for ch in shown), shown


def test_a_parroting_model_is_flagged_degenerate_and_copied(benchmark, tmp_path):
    # A model that repeats the answer its prompt shows (the worked exemplar's 72) for
    # every item: the copied answers are flagged, and the result is called degenerate.
    model = write_replies(tmp_path / "parrot.jsonl", ["Easy.\n\nFinal answer: 72"])
    out = tmp_path / "parrot"
    result = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--protocol",
        "cot-fewshot",
        "--shots",
        "1",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    validity = data["validity"]
    assert data["degenerate"] is True and data["correct"] == 0
    assert validity["identical_share"] == 1.0 and validity["most_common"] == "72"
    assert validity["copied_share"] == 1.0
    assert "WARNING: model result looks degenerate" in result.stderr
    assert "parroting" in result.stderr and "repeat an answer shown in the prompt" in result.stderr
    _, items = read_eval(out / "model")
    assert all(item.copied_prompt and item.extraction == "final_answer" for item in items)


def test_a_healthy_result_is_not_degenerate_and_json_carries_the_flags(benchmark, tmp_path):
    replies = [f"Some steps.\n\nFinal answer: {a}" for _, a in QUESTIONS[:-2]] + [
        "I am not sure.",
        "The answer is \\boxed{30}.",
    ]
    model = write_replies(tmp_path / "m.jsonl", replies)
    result = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--out",
        str(tmp_path / "ok"),
        "--json",
    )
    data = json.loads(result.stdout)
    assert data["correct"] == 11 and data["protocol"]["name"] == "cot"
    assert data["protocol"]["temperature"] == 0.0 and data["protocol"]["max_tokens"] == 512
    assert data["degenerate"] is False
    # only "The answer is \\boxed{30}." came without a step of reasoning
    assert data["validity"]["no_reasoning_share"] == pytest.approx(1 / 12)
    assert data["validity"]["malformed_share"] == pytest.approx(1 / 12)
    assert data["failures"] == {"malformed_output": 1}


def test_malformed_replies_make_a_result_degenerate(benchmark, tmp_path):
    model = write_replies(tmp_path / "m.jsonl", ["I do not know."] * 3 + ["Final answer: 15"])
    result = invoke(
        "eval", "-m", model, "-b", f"math:gsm8k:{benchmark}", "--out", str(tmp_path / "bad")
    )
    assert result.exit_code == 0
    assert "WARNING: model result looks degenerate" in result.stderr
    assert "hold no readable answer" in result.stderr
    assert "malformed 75%" in result.stdout


def test_cot_fewshot_sends_training_exemplars_as_earlier_turns(benchmark, tmp_path):
    from nanoflux import hookimpl
    from nanoflux.default_plugins.scripted import ScriptedBackend
    from nanoflux.evaluation import Harness, resolve_protocol
    from nanoflux.plugins import PluginHost

    backend = ScriptedBackend(["Final answer: 12"])

    class FakeBackend:
        @staticmethod
        @hookimpl
        def register_backends(register):
            register("fake", lambda spec: backend)

    host = PluginHost.load(allow=["math"], extra=[("fake", FakeBackend)])
    harness = Harness.prepare(
        host, f"math:gsm8k:{benchmark}", limit=1, protocol="cot-fewshot", shots=2
    )
    protocol, exemplars = harness.protocol, harness.exemplars
    assert protocol.exemplars.endswith("train.jsonl") and protocol.shots == 2
    summary, results = harness.evaluate(tmp_path / "fewshot", "fake:x")
    messages = backend.calls[0].messages
    assert [m.role for m in messages] == ["user", "assistant"] * 2 + ["user"]
    assert messages[0].content.startswith("Natalia sold 48 clips")
    assert "Final answer: X" in messages[0].content and "step by step" in messages[0].content
    # the worked reply without GSM8K's calculator annotations, closing as asked
    assert messages[1].content == "48/2 = 24.\n\nFinal answer: 72"
    assert messages[-1].content.startswith(QUESTIONS[0][0])
    assert backend.calls[0].temperature == 0.0
    assert summary.protocol.exemplar_ids == [e.id for e in exemplars]
    assert results[0].correct and not results[0].copied_prompt

    # an exemplar that is also an evaluated item would hand the model the answer
    with pytest.raises(Exception, match="also an evaluated item"):
        resolve_protocol(
            host,
            harness.benchmark,
            harness.items,
            "cot-fewshot",
            shots=1,
            exemplars=f"math:gsm8k:{benchmark}",
        )


def test_baseline_under_another_protocol_is_refused(benchmark, tmp_path):
    model = write_replies(tmp_path / "m.jsonl", ["Final answer: 12"])
    first = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--limit",
        "3",
        "--out",
        str(tmp_path / "base"),
        "--json",
    )
    assert first.exit_code == 0
    # a reply that is only its answer line gave no reasoning: flagged
    assert json.loads(first.stdout)["validity"]["no_reasoning_share"] == 1.0
    base = str(tmp_path / "base" / "model")

    refused = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--limit",
        "3",
        "--protocol",
        "text",
        "--baseline",
        base,
        "--out",
        str(tmp_path / "x"),
    )
    assert refused.exit_code == 2
    assert "protocols differ" in refused.output and "name: 'text' vs 'cot'" in refused.output
    assert not (tmp_path / "x").exists()  # refused before a single item was asked

    budget = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--limit",
        "3",
        "--max-tokens",
        "256",
        "--baseline",
        base,
        "--out",
        str(tmp_path / "y"),
    )
    assert budget.exit_code == 2 and "max_tokens: 256 vs 512" in budget.output

    same = invoke(
        "eval",
        "-m",
        model,
        "-b",
        f"math:gsm8k:{benchmark}",
        "--limit",
        "3",
        "--baseline",
        base,
        "--out",
        str(tmp_path / "z"),
        "--json",
    )
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["delta"] == 0.0

    # a longer evaluation of the benchmark serves for its first items; a shorter does not
    fewer = ["-m", model, "-b", f"math:gsm8k:{benchmark}", "--baseline", base, "--json"]
    first_two = invoke("eval", *fewer, "--limit", "2", "--out", str(tmp_path / "two"))
    assert first_two.exit_code == 0, first_two.output
    assert json.loads(first_two.stdout)["n"] == 2
    more = invoke("eval", *fewer, "--limit", "4", "--out", str(tmp_path / "four"))
    assert more.exit_code == 2 and "answered other items" in more.output
    assert not (tmp_path / "four").exists()


def test_copied_from_prompt():
    prompt = (
        "Solve.\nProblem: Tom has 3 bags of 4 apples.\n"
        'Reply {"reasoning": "3 bags of 4 apples is 12; 12 - 5 = 7.", "final_answer": "7"}'
    )
    question = "Tom has 3 bags of 4 apples."
    assert copied_from_prompt("7", prompt, question=question)
    assert copied_from_prompt("7.0", prompt, question=question)
    # intermediate numbers of an example are not answers it shows
    assert not copied_from_prompt("12", prompt, question=question)
    # a value given in the question itself may honestly be the answer
    assert not copied_from_prompt("3", prompt, question=question)
    assert not copied_from_prompt(
        "7", prompt.replace("Tom has 3", "Tom has 7"), question=question.replace("3", "7")
    )
    few_shot = "Q: ...\nA: 48/2 = 24.\nFinal answer: 72\nQ: ...\nThe answer is 1,250."
    assert copied_from_prompt("72", few_shot) and copied_from_prompt("1250", few_shot)
    assert not copied_from_prompt("24", few_shot) and not copied_from_prompt(None, few_shot)
    assert copied_from_prompt("Paris", 'e.g. {"final_answer": "Paris"}')


def test_the_json_protocol_shows_no_example_object_and_requires_the_reasoning():
    # Seen with Qwen2.5-Coder-0.5B: 66 of 100 final answers were "the answer only", the
    # value of the instruction's example object, and the reasoning (optional in the
    # schema the grammar was built from) was skipped.
    from nanoflux_math import MathDomain

    from nanoflux.evaluation.protocols import JSON_INSTRUCTION, build_request, make_protocol
    from nanoflux.records import BenchmarkItem

    assert "{" not in JSON_INSTRUCTION
    protocol = make_protocol("json")
    item = BenchmarkItem(id="1", question="What is 2 + 3?", answer="5")
    schema = build_request(protocol, MathDomain(), item, [], seed=0).json_schema
    assert list(schema["properties"]) == ["reasoning", "final_answer"]
    assert schema["required"] == ["reasoning", "final_answer"]


def test_a_result_of_an_older_protocol_revision_is_not_compared():
    from nanoflux.evaluation import ProtocolMismatch, check_comparable, make_protocol, summarise
    from nanoflux.evaluation.protocols import Protocol

    now = summarise("m", "math:gsm8k:x", [], 0.0, make_protocol("json"))
    before = summarise("m", "math:gsm8k:x", [], 0.0, Protocol(name="json", max_tokens=512))
    with pytest.raises(ProtocolMismatch, match="revision: 2 vs 1"):
        check_comparable(now, before)
    assert "revision 2" in now.protocol.label()
