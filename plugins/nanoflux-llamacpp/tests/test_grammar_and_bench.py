import pytest
from nanoflux_llamacpp.bench import grammar_benchmark, overhead_benchmark
from nanoflux_llamacpp.grammar import grammar_schema


def test_short_integer_ranges_become_enums_and_the_rest_is_kept():
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5, "description": "d"},
            "hops": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 4},
            "big": {"type": "integer", "minimum": 0, "maximum": 10_000},
            "ratio": {"type": "number", "minimum": 1, "maximum": 5},
            "steps": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2}},
        },
    }
    rewritten = grammar_schema(schema)
    properties = rewritten["properties"]
    assert properties["score"] == {"description": "d", "enum": [1, 2, 3, 4, 5]}
    assert properties["hops"] == {"enum": [1, 2, 3]}
    assert properties["big"] == schema["properties"]["big"]
    assert properties["ratio"] == schema["properties"]["ratio"]
    assert properties["steps"]["items"] == {"enum": [0, 1, 2]}
    assert schema["properties"]["score"]["type"] == "integer"  # the caller's schema is untouched


@pytest.mark.slow
def test_overhead_benchmark_reports_a_ratio_from_matching_calls():
    result = overhead_benchmark({"llamacpp_n": "2", "llamacpp_max_tokens": "8"})
    detail = result["overhead"]
    assert result["overhead_ratio"] > 0
    assert detail["calls"] == 2
    assert detail["same_outputs"] is True
    assert detail["plugin_completion_tokens"] == detail["bare_completion_tokens"] > 0


@pytest.mark.slow
def test_grammar_benchmark_times_the_same_request_both_ways():
    result = grammar_benchmark(
        {"llamacpp_n": "2", "llamacpp_max_tokens": "12", "llamacpp_model": "smollm2-135m"}
    )
    detail = result["grammar"]
    assert result["grammar_time_ratio"] > 0 and detail["calls_each"] == 2
    assert set(detail["seconds_per_call"]) == {"json", "text"}
    assert all(tokens > 0 for tokens in detail["completion_tokens"].values())
