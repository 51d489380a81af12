"""GSM8K solutions read as programs: what a code-first Attacker is shown of a seed."""

from importlib import resources

from nanoflux_math.worked_programs import MAX_SOLUTION_CHARS, MAX_STEPS, gsm8k_program

from nanoflux.domains import load_benchmark
from nanoflux.engine.judge import make_tool_caller
from nanoflux.plugins import PluginHost

QUESTION = (
    "There were 180 apples in each crate. 12 such crates of apples were delivered to a "
    "factory. 160 apples were rotten and had to be thrown away. The remaining apples were "
    "packed into boxes of 20 apples each. How many boxes of apples were there?"
)
SOLUTION = (
    "The total number of apples delivered was 180 * 12 = <<180*12=2160>>2160 apples\n"
    "The remaining apples were 2160 - 160 = <<2160-160=2000>>2000 apples\n"
    "The number of boxes was 2000 / 20 = <<2000/20=100>>100 boxes"
)


def test_each_annotation_is_a_line_and_an_earlier_result_is_named():
    assert gsm8k_program(QUESTION, SOLUTION, "100") == (
        "def solution():\n"
        "    apples_delivered = 180*12\n"
        "    remaining_apples = apples_delivered-160\n"
        "    number_boxes = remaining_apples/20\n"
        "    return number_boxes\n"
    )


def test_a_number_the_problem_states_stays_a_number():
    # 20 is stated (boxes of 20) and also an earlier result: the stated one is meant
    solution = "Per crate: 10 + 10 = <<10+10=20>>20\nBoxes: 2000 / 20 = <<2000/20=100>>100"
    assert "2000/20" in gsm8k_program(QUESTION, solution, "100")


def test_a_program_that_does_not_recompute_the_answer_is_not_shown():
    assert gsm8k_program(QUESTION, SOLUTION, "99") is None
    # one step is no worked program; a step that is not arithmetic is not read
    assert gsm8k_program(QUESTION, "180 * 12 = <<180*12=2160>>2160", "2160") is None
    bad = SOLUTION.replace("<<2000/20=100>>", "<<__import__('os')=100>>")
    assert gsm8k_program(QUESTION, bad, "100") is None
    assert gsm8k_program(QUESTION, SOLUTION.replace("2000/20", "2000/0"), "100") is None


def test_reading_is_bounded_in_steps_and_length():
    # n steps of "+ 1" from 0: the program recomputes n, until there are too many steps
    def counting(n):
        return "".join(f"Step: <<{k}+1={k + 1}>>{k + 1}\n" for k in range(n))

    assert gsm8k_program("q", counting(MAX_STEPS), str(MAX_STEPS)) is not None
    assert gsm8k_program("q", counting(MAX_STEPS + 1), str(MAX_STEPS + 1)) is None
    padded = SOLUTION + " " * (MAX_SOLUTION_CHARS - len(SOLUTION))
    assert gsm8k_program(QUESTION, padded, "100") is not None
    assert gsm8k_program(QUESTION, padded + " ", "100") is None
    # an answer that is not a number (NaN compares unequal to everything) is not recomputed
    assert gsm8k_program(QUESTION, SOLUTION, "nan") is None


def test_the_packs_seeds_carry_programs_that_recompute_their_answers_in_the_sandbox():
    host = PluginHost.load(allow=["math"])
    path = resources.files("nanoflux_math").joinpath("seeds", "gsm8k-train-811.jsonl")
    items = load_benchmark(host, f"math:gsm8k:{path}")
    with_program = [item for item in items if item.program]
    # every one: of the 1,000 drawn, 811 are fit to show (kit.seed_faults: a program that
    # recomputes the answer, a problem the screen passes); the seeds README says how
    assert len(with_program) == len(items) == 811
    domain, call_tool = host.domain("math"), make_tool_caller(host)
    for item in with_program[:10]:
        evidence = call_tool(domain.program_tool, {"code": item.program})
        assert evidence.result.ok, evidence.result.error
        assert domain.check_answer(item.answer, str(evidence.result.value)), item.program
