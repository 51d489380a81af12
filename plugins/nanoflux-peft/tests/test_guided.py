"""Schema-guided JSON with a random model: always a valid object of the schema."""

import asyncio

import jsonschema
import pytest
from nanoflux_peft.backend import HFBackend
from nanoflux_peft.guided import Schema, Unsupported

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.records import Answer, ChatMessage, Question, Scores

FLAT_QUESTION = {  # the shape the engine sends the Attacker
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "skill": {"type": "string"},
        "hops": {"type": "integer", "minimum": 1, "maximum": 20},
        "solution_steps": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 12,
        },
        "reference_answer": {"type": "string"},
        "explanation": {"type": "string"},
    },
    "required": ["text", "skill", "hops", "solution_steps", "reference_answer", "explanation"],
    "additionalProperties": False,
}
SCORES = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "defender_correct": {"type": "boolean"},
        "coherence": {"type": "integer", "minimum": 1, "maximum": 5},
        "reasoning_quality": {"type": "number", "minimum": 1, "maximum": 5},
        "verdict": {"enum": ["accept", "reject"]},
    },
    "required": ["rationale", "defender_correct", "coherence", "reasoning_quality", "verdict"],
}


@pytest.fixture(scope="module")
def backend(tiny_model):
    return HFBackend(ModelSpec.parse(f"hf:{tiny_model}"))


def ask(backend, schema, *, max_tokens=64, temperature=0.0, seed=0):
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="Write it.")],
        json_schema=schema,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    return asyncio.run(backend.complete(request))


@pytest.mark.parametrize("schema", [FLAT_QUESTION, SCORES], ids=["question", "scores"])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_flat_schemas_validate(backend, schema, temperature):
    completion = ask(backend, schema, temperature=temperature, seed=3)
    jsonschema.validate(completion.data, schema)
    assert completion.finish_reason == "stop"
    assert completion.completion_tokens > 0


def test_pydantic_schemas_validate_as_records(backend):
    answer = ask(backend, Answer.model_json_schema()).data
    assert list(answer) == ["reasoning", "final_answer"]  # reasoning is written first
    assert Answer.model_validate(answer).final_answer  # minLength 1 is respected
    question = Question.model_validate(
        ask(backend, Question.model_json_schema(), max_tokens=96).data
    )
    assert question.program is None and question.choices is None  # optional nullable: left out
    scores = Scores.model_validate(ask(backend, Scores.model_json_schema()).data)
    assert 1 <= scores.coherence <= 5


def test_scoring_alternatives_leaves_the_cache_as_it_was(backend):
    from nanoflux_peft.chat import encode_text, prompt_text
    from nanoflux_peft.decoding import Decoder

    loaded = backend.loaded()
    prompt = encode_text(
        loaded.tokenizer, prompt_text(loaded.tokenizer, [{"role": "user", "content": "hi"}])
    )
    plain = Decoder(loaded.model, loaded.tokenizer, prompt, temperature=0, seed=0)
    scored = Decoder(loaded.model, loaded.tokenizer, prompt, temperature=0, seed=0)
    assert scored.score("true") < 0 and scored.score(", more words") < 0
    assert scored.length == plain.length
    assert plain.generate(12, set()) == scored.generate(12, set())


def test_budget_is_shared_so_every_field_gets_written(backend):
    completion = ask(backend, FLAT_QUESTION, max_tokens=40)
    jsonschema.validate(completion.data, FLAT_QUESTION)
    # forced syntax counts too; strings get at least a few tokens each, so allow some slack
    assert completion.completion_tokens <= 40 + 6 * 8


def test_unsupported_schemas_are_detected():
    with pytest.raises(Unsupported):
        Schema({"type": "object", "additionalProperties": {"type": "string"}}).check()
    with pytest.raises(Unsupported):
        Schema(
            {
                "type": "object",
                "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            }
        ).check()


def test_prompt_mode_parses_json_and_gives_none_for_prose(tiny_model, monkeypatch):
    """Prompt mode is the fallback for schemas guided decoding cannot follow; the decoder's
    free text is replaced here, since what is under test is the parsing, not the model."""
    from nanoflux_peft import decoding

    backend = HFBackend(ModelSpec.parse(f"hf:{tiny_model}", {"structured": "prompt"}))
    replies = iter(['Sure! {"reasoning": "r", "final_answer": "5"} done', "no json at all"])
    monkeypatch.setattr(
        decoding.Decoder, "generate", lambda self, n, stops: (next(replies), "stop")
    )
    schema = Answer.model_json_schema()
    assert ask(backend, schema).data == {"reasoning": "r", "final_answer": "5"}
    second = ask(backend, schema)
    assert second.data is None and second.text == "no json at all"


def test_the_prompt_asks_for_the_keys(backend, monkeypatch):
    from nanoflux_peft import backend as module

    seen = []
    original = module.prompt_text
    monkeypatch.setattr(
        module,
        "prompt_text",
        lambda tok, messages: seen.append(messages) or original(tok, messages),
    )
    ask(backend, FLAT_QUESTION, max_tokens=16)
    assert '"hops" (integer)' in seen[0][-1]["content"] and "Write it." in seen[0][-1]["content"]
