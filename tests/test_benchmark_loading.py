"""Loading a benchmark or seeds file: bounded per line, streamed up to the limit.

``nanoflux.domains.load_benchmark`` is the one reader every command goes through (eval,
pipeline, ablate, train, ``run --seeds``, ``data inspect``); the packs' loaders yield
their items as they read them.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from nanoflux.domains import CHOICE_LETTERS, Domain, load_benchmark
from nanoflux.errors import DataFormatError, UsageError
from nanoflux.inputs import iter_jsonl
from nanoflux.kit import jsonl_benchmark
from nanoflux.plugins import PluginHost
from nanoflux.records import BenchmarkItem

GSM8K = {"question": "Ann has 3 bags of 4 pens. How many pens?", "answer": "<<3*4=12>>12\n#### 12"}
MEDQA = {"question": "Which?", "options": {"A": "x", "B": "y"}, "answer_idx": "B"}
GENOME_BENCH = {"question": "Which? a. Cas9 b. Cas12a", "answer": "<answer>b</answer>"}


@pytest.fixture(scope="module")
def host():
    return PluginHost.load(allow=["math", "medicine", "genomics"])


@pytest.mark.parametrize(
    ("spec", "row"),
    [("math:gsm8k", GSM8K), ("medicine:medqa", MEDQA), ("genomics:genome-bench", GENOME_BENCH)],
)
def test_with_a_limit_no_line_past_it_is_read(host, tmp_path, spec, row):
    # two items, then a million lines no reader accepts: read, the first is an error
    path = tmp_path / "big.jsonl"
    path.write_text((json.dumps(row) + "\n") * 2 + "{not json\n" * 1_000_000, "utf-8")
    items = load_benchmark(host, f"{spec}:{path}", limit=2)
    assert len(items) == 2
    with pytest.raises(DataFormatError, match=r"big\.jsonl:3: not valid JSON"):
        load_benchmark(host, f"{spec}:{path}", limit=3)


def test_a_million_lines_with_limit_two_is_fast_and_small(host, tmp_path):
    # was 42 s and 1.26 GB: the whole file was parsed before the limit was applied
    path = tmp_path / "train.jsonl"
    path.write_text((json.dumps(GSM8K) + "\n") * 1_000_000, "utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        items = load_benchmark(host, f"math:gsm8k:{path}", limit=2)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [item.id for item in items] == ["gsm8k-train-1", "gsm8k-train-2"]
    assert seconds < 1 and peak < 8 << 20, (seconds, peak)


def test_a_limit_below_one_and_a_file_without_items_are_one_line(host, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", "utf-8")
    with pytest.raises(UsageError, match="limit 0 takes no items"):
        load_benchmark(host, f"math:gsm8k:{path}", limit=0)
    with pytest.raises(DataFormatError) as caught:
        load_benchmark(host, f"math:gsm8k:{path}")
    # the hint is the first line of the loader's docstring: what the format holds
    assert caught.value.one_line() == (
        f'{path}: no items (format gsm8k: GSM8K: JSONL of {{"question", "answer"}}, the '
        "answer ending in #### N.)"
    )


class _Quiz(Domain):
    """A domain whose benchmark is multiple-choice JSONL read by the kit's reader."""

    name = "quiz"

    def prompts(self):
        raise NotImplementedError

    def check_answer(self, reference, candidate, *, choices=None):
        return reference == candidate

    def loaders(self):
        return {
            "jsonl": jsonl_benchmark("quiz", question="q", answer="a", choices="options"),
            "scores": _scores,
        }


def _scores(path):
    """Scores: JSONL of {"q", "a"}, a being a number written as a float."""
    for n, (_, record) in enumerate(iter_jsonl(path), 1):
        yield BenchmarkItem(id=f"score-{n}", question=record["q"], answer=str(float(record["a"])))


class _QuizHost:
    """What load_benchmark asks of a host: the domain by name."""

    def domain(self, name):
        assert name == "quiz"
        return _Quiz()


def test_a_number_too_large_for_a_loader_is_one_line_naming_the_file(tmp_path):
    # a third-party loader converting a 400-digit integer: was "unexpected OverflowError"
    path = tmp_path / "scores.jsonl"
    path.write_text(json.dumps({"q": "Score?", "a": int("9" * 400)}) + "\n", "utf-8")
    with pytest.raises(DataFormatError) as caught:
        load_benchmark(_QuizHost(), f"quiz:scores:{path}")
    assert caught.value.one_line() == f"{path}: int too large to convert to float"


def test_an_item_with_more_choices_than_letters_is_refused_naming_it(tmp_path):
    path = tmp_path / "quiz.jsonl"
    eleven = {"q": "Pick", "a": "K", "options": [f"option {n}" for n in range(11)]}
    too_many = {**eleven, "options": [f"option {n}" for n in range(len(CHOICE_LETTERS) + 1)]}
    path.write_text(json.dumps(eleven) + "\n" + json.dumps(too_many) + "\n", "utf-8")
    (item,) = load_benchmark(_QuizHost(), f"quiz:jsonl:{path}", limit=1)
    assert len(item.choices) == 11
    with pytest.raises(DataFormatError) as caught:
        load_benchmark(_QuizHost(), f"quiz:jsonl:{path}")
    assert caught.value.one_line() == (
        f"{path}: item quiz-quiz-2: 27 choices, more than the 26 letters A-Z can name"
    )
