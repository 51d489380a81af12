"""The report: plots and tables from folders written in the documented formats."""

import json
import re

import pytest
from click.testing import CliRunner

from nanoflux.cli import make_cli
from nanoflux.errors import ConfigError
from nanoflux.report import build_report, collect

USAGE = {
    "calls": 1,
    "failed_calls": 0,
    "prompt_tokens": 100,
    "completion_tokens": 50,
    "seconds": 0.5,
}


def verdict(quality, level, *, verified=True, defender_correct=False):
    return {
        "reference_verified": verified,
        "defender_correct": defender_correct,
        "accuracy": 5,
        "coherence": 4,
        "safety": 5,
        "reasoning_quality": quality,
        "level": level,
        "hops_real": True,
        "rationale": "ok",
        "evidence": [],
        "overridden_by_tools": [],
        "quality_spread": None,
        "inconsistent": False,
    }


def question(n, hops):
    return {
        "text": f"Question {n}: what is {n} + {n}?",
        "domain": "math",
        "hops": hops,
        "skill": "add",
        "reference_answer": str(2 * n),
        "solution_steps": [f"{n} + {n} = {2 * n}"],
        "explanation": "",
        "program": None,
        "choices": None,
    }


def candidate(index, decision, reason, *, q=None, v=None, similarity=0.2, novelty="novel"):
    return {
        "index": index,
        "round": index,
        "lane": 0,
        "attacker": "llamacpp:default",
        "defender": "openai:gpt@http://localhost:8000/v1",
        "question": q,
        "answer": {"reasoning": "", "final_answer": "0"} if v else None,
        "verdict": v,
        "novelty": None
        if q is None
        else {"verdict": novelty, "similarity": similarity, "nearest_id": None},
        "decision": decision,
        "reason": reason,
        "example_id": f"math-{index:012x}" if decision == "accepted" else None,
        "usage": {"attacker": USAGE, "defender": USAGE, "judge": USAGE},
        "seconds": 1.5,
        "error": "no JSON object" if decision == "failed" else None,
    }


def write_run(folder):
    folder.mkdir(parents=True)
    candidates = [
        candidate(
            0, "accepted", "accepted", q=question(0, 3), v=verdict(4.0, "L4"), similarity=0.31
        ),
        candidate(
            1,
            "rejected",
            "defender_correct",
            q=question(1, 2),
            v=verdict(3.0, "L3", defender_correct=True),
        ),
        candidate(
            2, "rejected", "duplicate", q=question(0, 3), similarity=0.97, novelty="duplicate"
        ),
        candidate(3, "failed", "malformed_attacker"),
        candidate(
            4, "accepted", "accepted", q=question(4, 4), v=verdict(3.8, "L4"), similarity=0.12
        ),
        candidate(5, "rejected", "quality_out_of_band", q=question(5, 5), v=verdict(2.0, "L2")),
        candidate(
            6, "rejected", "unverified", q=question(6, 2), v=verdict(4.2, "L4", verified=False)
        ),
    ]
    (folder / "candidates.jsonl").write_text("".join(json.dumps(c) + "\n" for c in candidates))
    dataset = [
        {
            "id": c["example_id"],
            "messages": [
                {"role": "user", "content": c["question"]["text"]},
                {"role": "assistant", "content": "Final answer: 0"},
            ],
            "metadata": {"level": c["verdict"]["level"], "hops": c["question"]["hops"]},
        }
        for c in candidates
        if c["decision"] == "accepted"
    ]
    (folder / "dataset.jsonl").write_text("".join(json.dumps(e) + "\n" for e in dataset))
    usage = {
        "calls": 7,
        "failed_calls": 1,
        "prompt_tokens": 700,
        "completion_tokens": 350,
        "seconds": 3.5,
    }
    stats = {
        "attempts": 7,
        "accepted": 2,
        "acceptance_rate": 2 / 7,
        "rounds": 7,
        "rejections": {
            "defender_correct": 1,
            "duplicate": 1,
            "malformed_attacker": 1,
            "quality_out_of_band": 1,
            "unverified": 1,
        },
        "usage": {"attacker": usage, "defender": usage, "judge": usage},
        "total_tokens": 3150,
        "accepted_per_million_tokens": 634.9,
        "seconds": 10.5,
        "started_at": "2025-01-01T00:00:00+00:00",
        "ended_at": "2025-01-01T00:00:10+00:00",
        "accepted_per_round": [[0, 1], [4, 2]],
    }
    (folder / "stats.json").write_text(json.dumps(stats))
    (folder / "config.toml").write_text(
        'domain = "math"\ntarget = 2\n[attacker]\nspec = "llamacpp:default"\n'
        "[acceptance]\nquality_min = 3.5\nquality_max = 4.49\nhops_min = 2\nhops_max = 8\n"
        "[novelty]\nduplicate_threshold = 0.9\ncontamination_threshold = 0.85\n"
    )
    (folder / "manifest.json").write_text("{}")
    (folder / "run.log").write_text("round 0: accepted\n")


def write_training(folder, tokens, steps, flops):
    folder.mkdir(parents=True)
    (folder / "train_config.json").write_text(
        json.dumps(
            {
                "model": "hf:default",
                "options": {"rank": 16, "learning_rate": 2e-4, "epochs": 3},
                "flops_formula": "6 * total_params * tokens_seen",
                "examples": 2,
            }
        )
    )
    (folder / "train_log.jsonl").write_text(
        "".join(
            json.dumps(
                {"step": s, "loss": 3.0 / s, "tokens_seen": s * tokens // steps, "seconds": s}
            )
            + "\n"
            for s in range(1, steps + 1)
        )
    )
    (folder / "train_result.json").write_text(
        json.dumps(
            {
                "out_dir": str(folder),
                "adapter_dir": str(folder / "adapter"),
                "steps": steps,
                "examples": 2,
                "tokens_seen": tokens,
                "seconds": float(steps),
                "flops_estimate": flops,
                "final_loss": 3.0 / steps,
                "extra": {},
            }
        )
    )


def write_eval(folder, model, correct, n=20, warnings=()):
    folder.mkdir(parents=True)
    from nanoflux.evaluation import wilson_interval

    (folder / "summary.json").write_text(
        json.dumps(
            {
                "model": model,
                "benchmark": "math:gsm8k:test.jsonl",
                "n": n,
                "correct": correct,
                "accuracy": correct / n,
                "ci95": list(wilson_interval(correct, n)),
                "failures": {},
                "prompt_tokens": 2000,
                "completion_tokens": 500,
                "seconds": 12.0,
                "validity": {"warnings": list(warnings), "degenerate": bool(warnings)},
            }
        )
    )
    (folder / "items.jsonl").write_text("")


@pytest.fixture
def pipeline_dir(tmp_path):
    root = tmp_path / "pipe"
    write_run(root / "run")
    write_training(root / "train", tokens=1_000, steps=4, flops=8e12)
    write_training(root / "baseline_train", tokens=50_000, steps=40, flops=4e14)
    write_eval(root / "eval" / "base", "hf:default", 5, warnings=["80% parroting '7'"])
    write_eval(root / "eval" / "tuned", "hf:default+/x/adapter", 9)
    write_eval(root / "eval" / "full", "hf:default+/y/adapter", 10)
    (root / "pipeline.json").write_text(
        json.dumps(
            {
                "comparisons": [
                    {
                        "label": "tuned vs base",
                        "model": "hf:default+/x/adapter",
                        "baseline": "hf:default",
                        "n": 20,
                        "accuracy": 0.45,
                        "baseline_accuracy": 0.25,
                        "delta": 0.2,
                        "delta_ci95": [0.0, 0.4],
                        "model_only": 5,
                        "baseline_only": 1,
                        "p_value": 0.21875,
                        "p_value_bootstrap": 0.1,
                    }
                ]
            }
        )
    )
    ablation = root / "ablation-quality"
    write_training(ablation / "band-L3" / "train", tokens=500, steps=2, flops=1e12)
    (ablation / "ablation.json").write_text(
        json.dumps(
            {
                "by": "quality",
                "benchmark": "math:gsm8k:test.jsonl",
                "model": "hf:default",
                "cap": 50,
                "base": {"model": "hf:default", "n": 20, "accuracy": 0.25, "ci95": [0.11, 0.47]},
                "rows": [
                    {"band": "L2", "eligible": 0, "examples": 0, "skipped": "fewer than 1"},
                    {
                        "band": "L3",
                        "eligible": 4,
                        "examples": 4,
                        "accuracy": 0.35,
                        "ci95": [0.18, 0.57],
                        "delta": 0.1,
                        "p_value": 0.5,
                    },
                    {
                        "band": "L4",
                        "eligible": 9,
                        "examples": 9,
                        "accuracy": 0.3,
                        "ci95": [0.15, 0.52],
                        "delta": 0.05,
                        "p_value": 1.0,
                    },
                ],
            }
        )
    )
    return root


def images_of(page):
    return re.findall(r'<img src="([^"]+)"', page)


def test_a_pipeline_directory_gets_every_section(pipeline_dir):
    path = build_report(pipeline_dir)
    assert path == pipeline_dir / "report.html"
    page = path.read_text()
    images = images_of(page)
    names = {src.rsplit("/", 1)[-1] for src in images}
    assert names >= {
        "accepted_per_round.png",
        "rejections.png",
        "judge_scores.png",
        "hops.png",
        "novelty.png",
        "tokens_per_role.png",
        "loss.png",
        "accuracy.png",
        "ablation_0_quality.png",
    }
    for src in images:
        assert not src.startswith(("/", "http:", "https:", "data:"))
        assert (pipeline_dir / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing the browser would fetch from a network
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r'(src|href)="https?:', page)
    for heading in ("Generation run", "Training", "Evaluation", "Compute", "Ablations"):
        assert f"<h2>{heading}</h2>" in page
    # the compute table reports the measured ratio between the trainings
    assert "50" in page and '<td class="num">50</td>' in page  # 4e14 / 8e12
    assert "McNemar" in page and "0.2188" in page
    # a degenerate result says so in its row; a valid one says it is
    assert "80% parroting" in page and "<td>yes</td>" in page
    # ablation internals are summarised by the ablation, not listed as trainings
    assert "band-L3" not in page


def test_a_run_directory_alone_notes_what_is_missing(tmp_path):
    run = tmp_path / "run"
    write_run(run)
    page = build_report(run).read_text()
    assert len(images_of(page)) == 6
    assert "No training here" in page and "No evaluation here" in page
    assert "Ablations" not in page


def test_collect_reads_the_documented_fields(pipeline_dir):
    data = collect(pipeline_dir)
    assert data.run is not None and len(data.run.candidates) == 7 and len(data.run.dataset) == 2
    assert data.run.config["acceptance"]["quality_min"] == 3.5
    assert [t.name for t in data.trainings] == ["baseline_train", "train"]
    assert sorted(e.name for e in data.evals) == ["eval/base", "eval/full", "eval/tuned"]
    assert len(data.ablations) == 1 and len(data.comparisons) == 1


def test_plots_survive_missing_and_torn_data(tmp_path):
    run = tmp_path / "run"
    write_run(run)
    (run / "stats.json").unlink()
    with (run / "candidates.jsonl").open("a") as handle:
        handle.write('{"index": 7, "round"')  # a torn line from a killed run
    page = build_report(run).read_text()
    assert "accepted_per_round.png" in page  # recomputed from candidates


def test_a_folder_without_anything_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="holds no run, training, evaluation or ablation"):
        build_report(tmp_path)


def test_the_report_command(pipeline_dir):
    from nanoflux.plugins import PluginHost

    result = CliRunner().invoke(
        make_cli(PluginHost.load),
        ["report", str(pipeline_dir), "--out", str(pipeline_dir / "r.html")],
    )
    assert result.exit_code == 0, result.output
    assert (pipeline_dir / "r.html").is_file() and "report: " in result.stdout


def model_row(name, correct, n=20, training=None, warnings=()):
    from nanoflux.evaluation import wilson_interval

    return {
        "name": name,
        "spec": f"hf:default+/runs/p/{name}/adapter" if training else "hf:default",
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "ci95": list(wilson_interval(correct, n)),
        "validity": {
            "malformed_share": 0.9 if warnings else 0.05,
            "truncated_share": 0.1,
            "identical_share": 0.2,
            "warnings": list(warnings),
            "degenerate": bool(warnings),
        },
        "training": training,
    }


def test_a_pipeline_s_results_show_validity_beside_accuracy(pipeline_dir):
    """A tuned model that broke the answer format is flagged in its own row: in
    results.md, in what `nanoflux report` prints and in the page."""
    from nanoflux.plugins import PluginHost
    from nanoflux.report.results import results_markdown

    training = {"examples": 120, "steps": 90, "tokens_seen": 60_000, "seconds": 3000.0}
    summary = json.loads((pipeline_dir / "pipeline.json").read_text())
    summary |= {
        "protocol": {"name": "cot", "max_tokens": 512},
        "run": {"accepted": 120, "attempts": 900},
        "compute": {"generation": {"tokens": 5_000_000, "seconds": 32_000.0}},
        "models": {
            "base": model_row("base", 5),
            "tuned": model_row("nanoflux-120", 1, training=training, warnings=["90% no answer"]),
            "random": model_row("random-120", 6, training=training | {"seconds": 1500.0}),
        },
    }
    summary["comparisons"][0]["title"] = "nanoflux-120 vs base"
    (pipeline_dir / "pipeline.json").write_text(json.dumps(summary))
    table = results_markdown(summary)
    assert "| nanoflux-120 | 5.0% | [0.9%, 23.6%] | 1/20 | 90% | 10% | 20% | " in table
    assert "DEGENERATE: 90% no answer |" in table
    assert "| random-120 | 30.0% | [14.5%, 51.9%] | 6/20 | 5% | 10% | 20% | ok |" in table
    assert "| nanoflux-120 vs base | +20.0% | [+0.0%, +40.0%] | 5 | 1 | 0.219 | 0.1 |" in table
    assert "| random-120 | 120 examples, 90 steps | 60,000 | 1,500.0 | 1.00x | 0.50x |" in table
    assert "5,000,000 model tokens, 32,000 s" in table

    result = CliRunner().invoke(make_cli(PluginHost.load), ["report", str(pipeline_dir)])
    assert result.exit_code == 0, result.output
    assert table.strip() in result.stdout
    page = (pipeline_dir / "report.html").read_text()
    assert "<h2>Results</h2>" in page and "results.png" in page
    assert "<td>nanoflux-120</td>" in page and "90% no answer" in page
