"""An lm-eval task on local files that asks exactly what a NanoFlux protocol asks.

Each item's user turn is rendered by NanoFlux (``build_request``) and written to
``items.jsonl`` as ``prompt``; exemplars go to ``exemplars.jsonl`` with their worked
reply as ``target``. The task's ``doc_to_text`` is ``{{prompt}}``, so with lm-eval's
``apply_chat_template`` and ``fewshot_as_multiturn`` both harnesses send the same chat
messages. The answer is read by lm-eval's own machinery (regex filters and
``exact_match`` as in its GSM8K tasks), not by NanoFlux's extractor: agreement then
means something.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nanoflux.evaluation import Protocol, build_request, exemplar_reply
from nanoflux.records import BenchmarkItem

TASK_NAME = "nanoflux_crosscheck"
# lm-eval's GSM8K filters, with the strict pattern reading the line the protocol asks for
STRICT = r"Final answer:\s*\**\s*\$?(-?[0-9.,]+)"
FLEXIBLE = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"
IGNORE = [",", "\\$", "(?s).*#### ", "\\.$"]


def write_task(
    folder: Path,
    protocol: Protocol,
    domain,
    items: list[BenchmarkItem],
    exemplars: list[BenchmarkItem],
) -> dict[str, Any]:
    """Write ``items.jsonl``, ``exemplars.jsonl`` and ``task.yaml``; return the task config."""
    if protocol.name not in ("cot", "cot-fewshot", "text"):
        raise ValueError(f"protocol {protocol.name!r} has no lm-eval counterpart (free text only)")
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in items:
        request = build_request(protocol, domain, item, exemplars, seed=0)
        rows.append({"id": item.id, "prompt": request.messages[-1].content, "target": item.answer})
    _write_jsonl(folder / "items.jsonl", rows)
    shots = []
    for exemplar in exemplars[: protocol.shots]:
        request = build_request(protocol, domain, exemplar, [], seed=0)
        shots.append(
            {
                "id": exemplar.id,
                "prompt": request.messages[-1].content,
                "target": exemplar_reply(exemplar),
            }
        )
    _write_jsonl(folder / "exemplars.jsonl", shots or rows[:1])
    config: dict[str, Any] = {
        "task": TASK_NAME,
        "dataset_path": "json",
        "dataset_kwargs": {
            "data_files": {
                "test": str((folder / "items.jsonl").resolve()),
                "train": str((folder / "exemplars.jsonl").resolve()),
            }
        },
        "test_split": "test",
        "fewshot_split": "train",
        "num_fewshot": protocol.shots,
        "fewshot_config": {"sampler": "first_n"},
        "output_type": "generate_until",
        "doc_to_text": "{{prompt}}",
        "doc_to_target": "{{target}}",
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        "generation_kwargs": {
            "until": [],  # a chat model stops at its end-of-turn token
            "do_sample": False,
            "temperature": 0.0,
            "max_gen_toks": protocol.max_tokens,
        },
        "filter_list": [
            {
                "name": "strict-match",
                "filter": [
                    {"function": "regex", "regex_pattern": STRICT},
                    {"function": "take_first"},
                ],
            },
            {
                "name": "flexible-extract",
                "filter": [
                    {"function": "regex", "group_select": -1, "regex_pattern": FLEXIBLE},
                    {"function": "take_first"},
                ],
            },
        ],
        "metric_list": [
            {
                "metric": "exact_match",
                "aggregation": "mean",
                "higher_is_better": True,
                "ignore_case": True,
                "ignore_punctuation": False,
                "regexes_to_ignore": IGNORE,
            }
        ],
        "metadata": {"version": 1.0, "nanoflux_protocol": protocol.model_dump(mode="json")},
    }
    import yaml

    (folder / "task.yaml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return config


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
