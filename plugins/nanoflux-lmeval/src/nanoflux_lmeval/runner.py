"""``python -m nanoflux_lmeval.runner CONFIG OUT``: one lm-eval run, in its own process.

lm-eval and datasets are heavy, configure logging globally and read the environment at
import; a subprocess keeps all that out of the ``nanoflux`` process. CONFIG is a JSON
object: ``task`` (the task config), ``base_url``, ``model``, ``timeout``. OUT receives
lm-eval's aggregate results and one record per item and filter.
"""

from __future__ import annotations

import json
import sys


def main(config_path: str, out_path: str) -> None:
    import lm_eval

    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    results = lm_eval.simple_evaluate(
        model="local-chat-completions",
        model_args={
            "base_url": config["base_url"],
            "model": config["model"],
            "num_concurrent": 1,
            "max_retries": 1,
            "timeout": config.get("timeout", 600),
            "tokenized_requests": False,
        },
        tasks=[config["task"]],
        apply_chat_template=True,
        fewshot_as_multiturn=True,
        log_samples=True,
        bootstrap_iters=0,
    )
    task = config["task"]["task"]
    samples = []
    for sample in results["samples"][task]:
        samples.append(
            {
                "id": sample["doc"]["id"],
                "filter": sample["filter"],
                "exact_match": float(sample["exact_match"]),
                "reply": sample["resps"][0][0],
                "extracted": sample["filtered_resps"][0],
                "target": sample["target"],
            }
        )
    report = {
        "lm_eval_version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else None,
        "results": results["results"][task],
        "samples": samples,
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, default=str, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
