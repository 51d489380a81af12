"""Write a small GSM8K-format benchmark (train and test splits) of templated word problems.

The demo machine has no network, so it cannot fetch GSM8K itself; these problems have
the same file format (``{"question", "answer": "steps\\n#### N"}`` per line) and the same
kind of two- and three-step arithmetic. Usage: python sample_benchmark.py OUT_DIR
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NAMES = ["Mia", "Leo", "Ava", "Noah", "Zoe", "Omar", "Ivy", "Ben", "Lena", "Raj", "Sara", "Tom"]
ITEMS = ["apples", "stickers", "marbles", "pencils", "cookies", "cards", "shells", "books"]


def problem(rng: random.Random) -> dict[str, str]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    kind = rng.randrange(3)
    if kind == 0:
        boxes, per, extra = rng.randint(2, 9), rng.randint(3, 12), rng.randint(1, 20)
        total = boxes * per + extra
        question = (
            f"{name} has {boxes} boxes with {per} {item} in each box and {extra} more "
            f"{item} on a shelf. How many {item} does {name} have in all?"
        )
        steps = f"{boxes} * {per} = {boxes * per}\n{boxes * per} + {extra} = {total}"
    elif kind == 1:
        start, given, bought = rng.randint(30, 90), rng.randint(5, 25), rng.randint(2, 15)
        total = start - given + bought
        question = (
            f"{name} had {start} {item}, gave away {given}, and then bought {bought} "
            f"more. How many {item} does {name} have now?"
        )
        steps = f"{start} - {given} = {start - given}\n{start - given} + {bought} = {total}"
    else:
        per_day, days, friends = rng.randint(2, 8), rng.randint(3, 7), rng.randint(2, 4)
        made = per_day * days * friends
        question = (
            f"{name} and {friends - 1} friends each make {per_day} {item} a day for "
            f"{days} days. How many {item} do they make together?"
        )
        steps = (
            f"{per_day} * {days} = {per_day * days} per person\n"
            f"{per_day * days} * {friends} = {made}"
        )
        total = made
    return {"question": question, "answer": f"{steps}\n#### {total}"}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, count, seed in (("train", 200, 1), ("test", 60, 2)):
        rng = random.Random(seed)
        rows = [problem(rng) for _ in range(count)]
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        print(f"{out / f'{split}.jsonl'}: {count} problems")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "sample-gsm8k"))
