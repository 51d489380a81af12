"""Writing into a problem what its program builds and a reader must see.

A code-first program builds its sequences with a pack's seeded generators
(``dna(seed=17, length=24)``), and its problem must show each one letter for letter. The
Attacker cannot know what a generator builds when it writes, and a 1.5B model does not
paste a 40-base sequence right from a repair turn either (genomics: 0 of 21 attempts
accepted in ``bench yield``). So, before the screens, :func:`complete_generated` writes
each value the program decides into the problem: in place of the model's own guess
where the problem holds one, else as a sentence of its own. It writes nothing the
program does not decide (a generator called with a number the program computes is left
to the screen), and touches no value the problem already shows.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .calls import Generated, _name_of, generated, shows

#: where a sentence ends and the next begins
_BOUNDARY = re.compile(r"[.!?]\s+(?=[A-Z(\"'])")


@dataclass(frozen=True)
class _Unshown:
    value: str
    source: str  # the call as the program writes it
    name: str  # the name the program gives it, or ""


def complete_generated(
    text: str,
    program: str | None,
    generators: Mapping[str, Callable[..., Any]],
    pattern: str | re.Pattern[str],
    *,
    copies: Collection[str] = (),
) -> tuple[str, list[str]]:
    """``text`` with each value a ``generators`` call of ``program`` builds and the text
    does not show written in, and one line per change.

    ``pattern`` is what such a value looks like (``[ACGTU]{6,}`` for a sequence) or a
    placeholder for one (``<sequence>``); a match that is not a value the program builds
    or types is the model's guess. In order of appearance, each placeholder and each
    distinct guess (everywhere it is written) is replaced by the next unshown value, in
    the order the program builds them: two ``<sequence>`` are two places, one guess
    written twice is one sequence. A value left without a place is written as a sentence
    before the closing question ("The sequence primer is ATG...."). A text that holds one
    of ``copies`` whole (the problems the Attacker is shown), or is held by one, is left
    as it is: it is a copy, and the copy screen must see it as the Attacker wrote it."""
    program = program or ""
    built = [g for g in generated(program, generators) if g.value is not None]
    unshown = _unshown(text, program, built, generators)
    if not unshown or _copies(text, copies):
        return text, []
    pattern = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
    shown = [g.value.upper() for g in built if g.value and shows(text, g.value)]
    guesses = _guesses(text, _typed(program), shown, pattern)
    replacing = dict(zip(guesses, unshown, strict=False))
    changes = [
        f"replaced {guesses[guess]} with {u.value} ({u.source})" for guess, u in replacing.items()
    ]
    text = pattern.sub(lambda m: _replaced(m, replacing), text)
    sentences = [(_sentence(u), u.source) for u in unshown[len(replacing) :]]
    if sentences:
        text = _before_question(text, " ".join(s for s, _ in sentences))
        changes += [f"wrote in {s!r} ({source})" for s, source in sentences]
    return text, changes


def placeholders(
    text: str,
    program: str | None,
    generators: Mapping[str, Callable[..., Any]],
    placeholder: str,
) -> str:
    """``text`` as the Attacker would have written it, the other way from
    :func:`complete_generated`: each value a ``generators`` call of ``program`` builds
    and the text shows, replaced by ``placeholder`` (``<sequence>``). A seed shown so
    teaches the form the Attacker is asked for; shown with its sequences, the 1.5B
    Attacker typed sequences of its own, which ran on to the token limit in 8 of 24
    genomics attempts (``ATCGATCGATCG...``)."""
    values = {g.value.upper() for g in generated(program or "", generators) if g.value}
    for value in sorted(values, key=len, reverse=True):  # a longer one holds a shorter
        text = re.sub(re.escape(value), placeholder, text, flags=re.IGNORECASE)
    return text


def _unshown(
    text: str, program: str, built: list[Generated], generators: Mapping[str, Callable]
) -> list[_Unshown]:
    """The values the program decides and the text does not show, once each, in the order
    the program builds them (an argument's call first)."""
    places = _places(program, generators)
    built = sorted(
        built,
        key=lambda g: places.get((g.call.line, g.call.source), ((g.call.line, 0), ""))[0],
    )
    found: dict[str, _Unshown] = {}
    for g in built:
        if g.value and g.value not in found and not shows(text, g.value):
            name = places.get((g.call.line, g.call.source), (None, ""))[1]
            found[g.value] = _Unshown(g.value, g.call.source, name)
    return list(found.values())


def _places(
    program: str, generators: Mapping[str, Callable]
) -> dict[tuple[int, str], tuple[tuple[int, int], str]]:
    """Each generator call, by its line and source: where it ends (an argument's call ends
    before its caller's) and the name it is assigned to (``primer = dna(...)``), if any."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return {}
    names = {
        id(node.value): node.targets[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }
    return {
        (node.lineno, ast.get_source_segment(program, node) or ""): (
            (node.end_lineno or node.lineno, node.end_col_offset or 0),
            names.get(id(node), ""),
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name_of(node) in generators
    }


def _guesses(
    text: str, typed: Collection[str], shown: Collection[str], pattern: re.Pattern[str]
) -> dict[str | int, str]:
    """The places to write a value in, in order of appearance, each with how it is
    written: each placeholder (``<...>``), by where it starts; each distinct match of
    ``pattern`` that is no value the program types nor part of one the text shows (the
    model's guess), upper case."""
    guesses: dict[str | int, str] = {}
    for match in pattern.finditer(text):
        key = _place(match)
        if isinstance(key, int) or (key not in typed and not any(key in v for v in shown)):
            guesses.setdefault(key, match.group())
    return guesses


def _place(match: re.Match[str]) -> str | int:
    """A placeholder is a place of its own (its start); a guess, wherever it is written."""
    token = match.group()
    return match.start() if token.startswith("<") and token.endswith(">") else token.upper()


def _typed(program: str) -> set[str]:
    """The text literals of the program, upper case: what it types (a motif, a site)."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return set()
    return {
        node.value.upper()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _replaced(match: re.Match[str], replacing: Mapping[str | int, _Unshown]) -> str:
    unshown = replacing.get(_place(match))
    return match.group() if unshown is None else unshown.value


def _sentence(unshown: _Unshown) -> str:
    name = unshown.name.replace("_", " ").strip()
    return f"The sequence {name} is {unshown.value}." if name else f"A sequence is {unshown.value}."


def _before_question(text: str, sentences: str) -> str:
    """``sentences`` before the text's closing question (the givens come first), or after
    the text where it ends otherwise."""
    stripped = text.rstrip()
    if not stripped.endswith("?"):
        return f"{stripped} {sentences}" if stripped else sentences
    boundaries = list(_BOUNDARY.finditer(stripped))
    cut = boundaries[-1].end() if boundaries else 0
    return f"{stripped[:cut]}{sentences} {stripped[cut:]}"


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


def _copies(text: str, copies: Collection[str]) -> bool:
    mine = _normalized(text)
    return any(c and (c in mine or mine in c) for c in map(_normalized, copies))
