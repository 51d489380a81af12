"""Option parsing that several commands share."""

from __future__ import annotations

import json

import click

from ..errors import UsageError
from ..inputs import clean_text, parse_json


def parse_pairs(pairs: tuple[str, ...], flag: str) -> dict[str, object]:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans)."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {pair!r} is not KEY=VALUE")
        options[clean_text(key)] = _value(value, f"{flag} {clean_text(key)}")
    return options


# what each evaluation protocol does, for --protocol's help
PROTOCOLS = {
    "cot": "cot: zero-shot chain of thought;",
    "cot-fewshot": "cot-fewshot: --shots worked exemplars from the training split;",
    "json": "json: the defender prompt and the Answer schema;",
    "text": "text: the bare question (models tuned on NanoFlux data), answer read from the "
    "reply's last 'Final answer:' (or GSM8K '####') line.",
}


def protocol_option(names: tuple[str, ...], default: str):
    """``--protocol`` (alias ``--format``): how a model is asked a benchmark's questions."""
    return click.option(
        "--protocol",
        "--format",
        "protocol_name",
        type=click.Choice(list(names)),
        default=default,
        show_default=True,
        help=" ".join(PROTOCOLS[name] for name in names) + " Greedy decoding in every protocol.",
    )


def _value(text: str, where: str) -> object:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return clean_text(text)  # not JSON: the text itself (a name, a path)
    except (RecursionError, ValueError):
        pass  # JSON too deep or an integer too long: parse_json says which, in one line
    return parse_json(text, where, UsageError)
