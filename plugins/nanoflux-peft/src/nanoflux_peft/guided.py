"""Schema-guided JSON: the syntax is forced, the model writes only the values.

Small models (and the tiny random models of the tests) rarely write valid JSON on
their own; llama.cpp solves this with a grammar, and this is the same idea for
transformers, in the manner of jsonformer: keys, quotes, commas and brackets are fed
to the model as given text, string values are sampled until the model closes the
quote (or their token share runs out), numbers are sampled from digit tokens,
booleans, enums and "one more array item?" are decided by comparing the
log-probabilities of the alternatives.

Supported schemas: objects with properties, strings (with enum), integers and numbers
(clamped to minimum/maximum), booleans, arrays of those, ``$ref`` into ``$defs``, and
``anyOf`` of one type with null. Optional nullable properties are left out (the
record's default fills them). Anything else raises :class:`Unsupported` and the
backend falls back to prompting for JSON and parsing it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .decoding import Decoder

NUMBER_TEXT = re.compile(r"^-?\d*\.?\d*$")
MAX_ARRAY_ITEMS = 8
MIN_STRING_TOKENS = 4
RESERVE_PER_FIELD = 8


class Unsupported(Exception):
    """The schema uses a feature guided decoding does not handle."""


class Schema:
    """Resolves ``$ref`` and nullable ``anyOf`` so the writer sees plain types."""

    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.defs = {**root.get("definitions", {}), **root.get("$defs", {})}

    def resolve(self, node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the non-null schema, whether null is allowed)."""
        nullable = False
        for _ in range(16):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in self.defs:
                    raise Unsupported(f"unresolvable $ref {node['$ref']}")
                node = {**self.defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
                continue
            options = node.get("anyOf") or node.get("oneOf")
            if options:
                kept = [o for o in options if o.get("type") != "null"]
                nullable = nullable or len(kept) < len(options)
                if len(kept) != 1:
                    raise Unsupported("anyOf with more than one non-null type")
                node = {**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, **kept[0]}
                continue
            kind = node.get("type")
            if isinstance(kind, list):
                kept = [k for k in kind if k != "null"]
                nullable = nullable or len(kept) < len(kind)
                if len(kept) != 1:
                    raise Unsupported(f"type list {kind}")
                node = {**node, "type": kept[0]}
            return node, nullable
        raise Unsupported("$ref nesting too deep")

    def properties(self, node: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        required = set(node.get("required", []))
        chosen = []
        for name, sub in node.get("properties", {}).items():
            resolved, nullable = self.resolve(sub)
            if nullable and name not in required:
                continue
            chosen.append((name, resolved))
        return chosen

    def check(self, node: dict[str, Any] | None = None) -> int:
        """Raise Unsupported anywhere in the tree; return the number of leaf values."""
        node = self.resolve(node if node is not None else self.root)[0]
        kind = node.get("type")
        if "const" in node:
            return 0
        if kind == "object" or (kind is None and "properties" in node):
            props = self.properties(node)
            if not props and not node.get("properties"):
                raise Unsupported("object without properties")
            return sum(self.check(sub) for _, sub in props)
        if kind == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                raise Unsupported("array without an items schema")
            return 2 * max(1, self.check(items))
        if kind in ("string", "integer", "number", "boolean"):
            return 1
        if "enum" in node:
            return 1
        raise Unsupported(f"type {kind!r}")


def describe_keys(schema: dict[str, Any]) -> str:
    """`"a" (string), "b" (integer)` for the prompt; empty when the schema is not an object."""
    view = Schema(schema)
    try:
        node = view.resolve(schema)[0]
        props = view.properties(node)
    except Unsupported:
        return ""
    return ", ".join(f'"{name}" ({sub.get("type", "value")})' for name, sub in props)


def _numeric_tokens(tokenizer) -> list[int]:
    cached = getattr(tokenizer, "_nanoflux_numeric_tokens", None)
    if cached is not None:
        return cached
    found: set[int] = set()
    for text in [*(str(n) for n in range(1000)), "."]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            found.add(int(ids[0]))
    tokens = sorted(found)
    tokenizer._nanoflux_numeric_tokens = tokens
    return tokens


class JsonWriter:
    def __init__(
        self, decoder: Decoder, schema: dict[str, Any], *, max_tokens: int, stops: set[int]
    ):
        self.decoder = decoder
        self.schema = Schema(schema)
        self.leaves = self.schema.check()
        self.leaves_done = 0
        self.max_tokens = max_tokens
        self.stops = stops
        self.pending = ""

    # -- text plumbing ------------------------------------------------------------

    def emit(self, text: str) -> None:
        self.pending += text

    def flush(self) -> None:
        if self.pending:
            self.decoder.force(self.pending)
            self.pending = ""

    def remaining(self) -> int:
        return self.max_tokens - self.decoder.new_tokens

    # -- values ------------------------------------------------------------------

    def write(self) -> dict[str, Any]:
        value = self.value(self.schema.root)
        if not isinstance(value, dict):
            raise Unsupported("the top-level schema is not an object")
        return value

    def value(self, node: dict[str, Any]) -> Any:
        node, _ = self.schema.resolve(node)
        if "const" in node:
            self.emit(json.dumps(node["const"]))
            return node["const"]
        if "enum" in node:
            return self.choice(list(node["enum"]))
        kind = node.get("type", "object")
        if kind == "object":
            return self.object(node)
        if kind == "array":
            return self.array(node)
        if kind == "boolean":
            return self.choice([True, False])
        if kind in ("integer", "number"):
            return self.number(node, integer=kind == "integer")
        return self.string(node)

    def object(self, node: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.emit("{")
        for i, (name, sub) in enumerate(self.schema.properties(node)):
            self.emit(("" if i == 0 else ", ") + json.dumps(name) + ": ")
            result[name] = self.value(sub)
        self.emit("}")
        return result

    def array(self, node: dict[str, Any]) -> list[Any]:
        items: list[Any] = []
        least = max(1, int(node.get("minItems", 1)))
        most = max(least, min(int(node.get("maxItems", MAX_ARRAY_ITEMS)), MAX_ARRAY_ITEMS))
        before = self.leaves_done
        self.emit("[")
        while True:
            items.append(self.value(node["items"]))
            # the budget counts an array as two values, however many items it gets
            self.leaves_done = before + 1
            if len(items) >= most:
                break
            if len(items) >= least:
                if self.remaining() < RESERVE_PER_FIELD * 2:
                    break
                self.flush()
                if self.decoder.score("]") >= self.decoder.score(", "):
                    break
            self.emit(", ")
        self.emit("]")
        self.leaves_done = before + self.schema.check(node)
        return items

    def choice(self, options: list[Any]) -> Any:
        self.flush()
        scores = [self.decoder.score(json.dumps(option)) for option in options]
        best = options[max(range(len(options)), key=scores.__getitem__)]
        self.emit(json.dumps(best))
        self.leaves_done += 1
        return best

    def number(self, node: dict[str, Any], *, integer: bool) -> int | float:
        self.flush()
        numeric = _numeric_tokens(self.decoder.tokenizer)
        digits = [t for t in numeric if self.decoder.tokenizer.decode([t]) != "."]
        text = ""
        for step in range(6):
            token = self.decoder.choose(allowed=digits if step == 0 else None)
            piece = self.decoder.tokenizer.decode([token])
            if step > 0 and (token not in numeric or (integer and "." in piece)):
                break
            if not NUMBER_TEXT.match(text + piece):
                break
            text += piece
            self.decoder.accept(token)
        try:
            value: float = float(text.rstrip("."))
        except ValueError:
            value = 0.0
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        result: int | float = int(value) if integer else value
        # Whatever the model wrote went into the cache; the clamped value is what it gets.
        self.leaves_done += 1
        return result

    def string(self, node: dict[str, Any]) -> str:
        self.emit('"')
        self.flush()
        later = max(0, self.leaves - self.leaves_done - 1)
        cap = max(MIN_STRING_TOKENS, self.remaining() - RESERVE_PER_FIELD * later)
        least = int(node.get("minLength", 0))
        ids: list[int] = []
        raw = ""
        banned: set[int] = set()
        for _ in range(cap):
            token = self.decoder.choose(banned=banned)
            candidate = self.decoder.tokenizer.decode([*ids, token])
            cut = _closing_quote(candidate)
            ends = token in self.stops or cut != -1
            if ends and len(raw if cut == -1 else candidate[:cut]) < least:
                banned.add(token)  # too short to end here: the model must write more
                continue
            banned.clear()
            if token in self.stops:
                break
            if cut != -1:
                tail = candidate[:cut][len(raw) :]
                raw = candidate[:cut]
                self.emit(tail)
                break
            ids.append(token)
            raw = candidate
            if self.decoder.room <= 1:
                break
            self.decoder.accept(token)
        text = _unescape(raw)
        max_length = node.get("maxLength")
        if max_length is not None:
            text = text[: int(max_length)]
        self.emit('"')
        self.leaves_done += 1
        return text


def _closing_quote(text: str) -> int:
    escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return i
    return -1


def _unescape(raw: str) -> str:
    try:
        return json.loads(f'"{raw}"', strict=False)
    except json.JSONDecodeError:
        return raw.replace("\\", "")


def write_json(
    decoder: Decoder, schema: dict[str, Any], *, max_tokens: int, stops: set[int]
) -> dict[str, Any]:
    writer = JsonWriter(decoder, schema, max_tokens=max_tokens, stops=stops)
    data = writer.write()
    return data
