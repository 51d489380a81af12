"""Code-first questions (``Domain.program_tool``): the Attacker writes a problem and a
program; the program's value, run in the sandbox, is the reference, and its computing
lines are the steps. :mod:`.forms` decides what happens next."""

from __future__ import annotations

import ast
import asyncio
import math
import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from ..answers import answer_key, options_for
from ..domains import CHOICE_LETTERS, Domain, ToolCaller
from ..errors import ModelOutputError
from ..records import Question, Record, ToolEvidence
from ..structured import extract_json_object

#: How a code-first Attacker is asked to reply; the round appends it to the domain's brief
#: and :func:`read_program_reply` reads it. Free text, not JSON: under a JSON grammar the
#: 1.5B Attacker's replies took 11.5 s against 9.4 s (9.6 against 13.8 tokens a second,
#: prompt included; 8 briefs each way, alternating, no shared prompt prefix), and it
#: wrote a program's lines as JSON strings with their indentation lost. No comments: in
#: free text it commented 8 of 24 programs (1 of 24 in JSON), tokens that buy nothing.
PROGRAM_REPLY_FORMAT = """Reply in exactly this form, no comments in the code, nothing after it:
Problem: <the problem>
```python
def solution():
    <one line per calculation step>
    return <the last result>
```"""


class ProgramDraft(Record):
    """What a code-first Attacker writes: the problem and the program that solves it.
    Keys it adds unasked (a stated answer, steps) are dropped: the program decides."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1)
    program: str = Field(min_length=1)

    @field_validator("program", mode="before")
    @classmethod
    def _untangled(cls, program: Any) -> Any:
        if isinstance(program, list) and all(isinstance(line, str) for line in program):
            program = "\n".join(program)  # a reply in JSON that wrote it as its lines
        return untangle_program(program) if isinstance(program, str) else program

    def as_reply(self) -> str:
        """The draft written the way :data:`PROGRAM_REPLY_FORMAT` asks for it."""
        return f"Problem: {self.text.strip()}\n```python\n{self.program.rstrip()}\n```"


# the program: a fenced block (its closing fence may be cut off), else from its def line on
_CODE_BLOCK = re.compile(
    r"^[ \t]*```[ \t]*(?:python|py)?[ \t]*\n(?P<code>.*?)(?:^[ \t]*```|\Z)", re.S | re.M
)
_DEF_LINE = re.compile(r"^[ \t]*def solution\(", re.M)
# what a model writes before the problem and after it, before the code
_PROBLEM_LABEL = re.compile(r"^\W*(?:new\s+)?(?:math\s+)?(?:word\s+)?problem\W*?:\**\s*", re.I)
_CODE_LABEL = re.compile(r"\n\W*(?:python\s+)?(?:program|code|solution)\W*:?\W*$", re.I)


def read_program_reply(text: str) -> dict[str, Any]:
    """``{"text", "program"}`` from a code-first Attacker's reply: the problem, then its
    program in a python block (see :data:`PROGRAM_REPLY_FORMAT`). Prose after the code is
    dropped; a reply in JSON anyway (an API model's habit) is read as JSON. Raises
    :class:`ModelOutputError` naming what is missing."""
    if text.lstrip().startswith("{"):
        return extract_json_object(text)
    code = None
    for block in _CODE_BLOCK.finditer(text):
        if "def solution" in block.group("code"):
            code, problem = block.group("code"), text[: block.start()]
            break
    if code is None:
        line = _DEF_LINE.search(text)
        if line is None:
            raise ModelOutputError("no program: no ```python block with def solution()")
        code, problem = text[line.start() :], text[: line.start()]
    problem = _CODE_LABEL.sub("", _PROBLEM_LABEL.sub("", problem.strip())).strip()
    if not problem:
        raise ModelOutputError("no problem: write it after 'Problem:', before the program")
    return {"text": problem, "program": code}


# a program written inside a JSON string sometimes carries the object's closing brace,
# or the markdown fence a Coder model puts around code
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\n(?P<code>.*?)\n?```\s*$", re.S)


def untangle_program(program: str) -> str:
    """The program without what its JSON or markdown wrapping left on it: a fence around
    it, or closing braces after its last line that leave it unbalanced (a 1.5B Attacker
    wrote ``return sum(parts)}``). A program that is Python as it stands is kept whole."""
    fenced = _FENCE.match(program)
    if fenced:
        program = fenced.group("code")
    stripped = program.rstrip()
    while stripped.endswith("}") and stripped.count("}") > stripped.count("{"):
        stripped = stripped[:-1].rstrip()
    program = stripped + "\n" if stripped != program.rstrip() else program
    if not _compiles(program):
        program = _reindented(program) or program
    return _with_return(_unshadowed(program))


def _unshadowed(program: str) -> str:
    """A result named after the function that computes it (``bmi = bmi(weight_kg=70,
    height_m=1.75)``) renamed ``bmi_value``, where the name is used: as written, the
    call fails with Python's UnboundLocalError, since the name is the function's own.
    Told so in its repair turn, the 1.5B Attacker wrote the same line again in 4 of 4
    repairs of a medicine trial. Only names are changed; what the program computes is
    what it meant."""
    function = _solution_of(program)
    if function is None:
        return program
    nodes = list(ast.walk(function))
    callees = [n.func for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    stored = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    clashes = {callee.id for callee in callees} & stored
    if not clashes:
        return program
    taken = {n.id for n in nodes if isinstance(n, ast.Name)}
    renamed = {}
    for name in sorted(clashes):
        new = f"{name}_value"
        while new in taken:
            new += "_"
        renamed[name] = new
    skipped = {id(callee) for callee in callees}
    places = [
        n for n in nodes if isinstance(n, ast.Name) and n.id in renamed and id(n) not in skipped
    ]
    lines = program.splitlines(keepends=True)
    for node in sorted(places, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        line = lines[node.lineno - 1]
        start, end = _columns(line, node.col_offset, node.end_col_offset)
        lines[node.lineno - 1] = line[:start] + renamed[node.id] + line[end:]
    return "".join(lines)


def _solution_of(program: str) -> ast.FunctionDef | None:
    """The program's ``solution()``, parsed; None where it has none or does not parse."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return None
    return next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "solution"), None
    )


def _columns(line: str, start: int, end: int | None) -> tuple[int, int]:
    """Character columns of ``ast``'s UTF-8 byte offsets in ``line``."""
    encoded = line.encode()
    return len(encoded[:start].decode()), len(encoded[: end or start].decode())


def _with_return(program: str) -> str:
    """A ``solution()`` with no return at all that ends on its last result (an assignment
    to one name, or a bare expression that is not a call) returns it: the brief asks it
    to return the last result, and a 1.5B Attacker left the return out in 4 of 9 rounds.
    A function that returns anywhere, or ends any other way (a ``print``), is kept."""
    function = _solution_of(program)
    if function is None or any(isinstance(n, ast.Return) for n in ast.walk(function)):
        return program
    last = function.body[-1]
    lines = program.rstrip().splitlines()
    indent = " " * last.col_offset
    if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call):
        # the last result written as a bare expression (``son - daughter``)
        returned = f"{indent}return {ast.get_source_segment(program, last.value)}"
        kept = lines[last.end_lineno :]
        return "\n".join([*lines[: last.lineno - 1], returned, *kept]) + "\n"
    if isinstance(last, ast.Assign) and len(last.targets) == 1:
        target = last.targets[0]
    elif isinstance(last, ast.AugAssign):
        target = last.target
    else:
        return program
    if not isinstance(target, ast.Name):
        return program
    returned = f"{indent}return {target.id}"
    return "\n".join([*lines[: last.end_lineno], returned, *lines[last.end_lineno :]]) + "\n"


_DEF = re.compile(r"^def solution\(\):[ \t]*(?P<inline>.*)$")
# where a statement starts in a body written on one line: an assignment to a name, or return
_STATEMENT_START = re.compile(r"\s+(?=(?:[A-Za-z_]\w*\s*[-+*/]?=(?!=)|return\b))")


def _compiles(program: str) -> bool:
    try:
        compile(program, "<program>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _reindented(program: str) -> str | None:
    """A straight-line ``solution()`` whose body lost its indentation in the JSON string
    (a 1.5B Attacker wrote the lines after ``def solution():`` at column 0, or on the def
    line itself, or only the body's lines, with its return), indented again (under the
    def line it left out); None when that is not what went wrong. Only a body
    without blocks of its own is re-indented, and calls of ``solution()`` are left out of
    it (a ``print(solution())`` that followed the body would recurse)."""
    lines = program.expandtabs(4).splitlines()
    start = next((n for n, line in enumerate(lines) if _DEF.match(line)), None)
    if start is None:
        # the body alone, asked for as lines: the function it is the body of
        if "def " in program or not any(line.strip().startswith("return") for line in lines):
            return None
        lines, start = ["def solution():", *lines], 0
    inline = _DEF.match(lines[start]).group("inline").strip()
    if len(lines) == start + 1:
        # the whole body on the def line, its newlines written as spaces
        inline = "\n".join(_STATEMENT_START.split(inline))
    body = [*inline.splitlines(), *lines[start + 1 :]]
    body = [line.strip() for line in body if line.strip() and "solution(" not in line]
    if not body or any(line.endswith(":") for line in body):
        return None
    mended = "\n".join([*lines[:start], "def solution():", *("    " + b for b in body)]) + "\n"
    return mended if _compiles(mended) else None


class ProgramFailed(Exception):
    """A code-first Attacker's program gave no answer: no reference; it may be mended."""

    def __init__(self, detail: str, draft: ProgramDraft):
        super().__init__(detail)
        self.detail = detail
        self.draft = draft


async def question_from_program(
    domain: Domain, call_tool: ToolCaller, draft: ProgramDraft, skill: str
) -> tuple[Question, ToolEvidence, list[str]]:
    """The question a code-first draft states: its program's value is the reference, its
    computing lines the steps; the program's run, which the Judge's verification reuses;
    and what was written into the draft's options (:func:`keyed_choice`). Raises
    :class:`ProgramFailed` when the program gives no answer (it fails, the kit refuses
    it, or it returns something that is not one)."""
    evidence = await asyncio.to_thread(call_tool, domain.program_tool, {"code": draft.program})
    if not evidence.result.ok:
        raise ProgramFailed(str(evidence.result.error), draft)
    text, choices = split_choices(draft.text.strip())
    value = answer_value(
        evidence.result.value,
        None if choices else domain.answer_pattern,  # an option's text need not be a number
        decimals=rounded_to(draft.program),
    )
    if value is None:
        returned = evidence.result.value
        labelled = isinstance(returned, str) and returned.strip() and not choices
        hint = (
            f": a label is an answer only as an option; end the problem on 4 options, one "
            f"a line (A. to D.), one of them {returned.strip()}"
            if labelled
            else ""
        )
        raise ProgramFailed(
            f"solution() returned {returned!r}, which is not an answer{hint}", draft
        )
    steps = computing_lines(draft.program)
    reference, changes = value, []
    if choices:
        reference, choices, changes = keyed_choice(domain, value, choices, draft)
    question = Question(
        text=text,
        domain=domain.name,
        skill=skill,
        hops=min(20, max(1, len(steps))),
        reference_answer=reference,
        solution_steps=steps or [f"return {value}"],
        program=draft.program,
        choices=choices,
    )
    return question, evidence, changes


# an option line of a multiple-choice problem: "A. 53 mL/min", "B) 45", "(C) stage 3a"
_OPTION = re.compile(r"^[ \t]*\(?(?P<letter>[A-Ha-h])[.):][ \t]+(?P<text>\S.*?)[ \t]*$")
#: the fewest options that make a problem multiple choice
MIN_CHOICES = 3


def split_choices(text: str) -> tuple[str, list[str] | None]:
    """A problem's stem and its options, when it ends on lettered option lines, one a
    line, from A on in order (at least :data:`MIN_CHOICES`); else the text and None."""
    lines = text.rstrip().splitlines()
    start = len(lines)
    while start > 0 and _OPTION.match(lines[start - 1]):
        start -= 1
    letters = [_OPTION.match(line).group("letter").upper() for line in lines[start:]]
    # the run of option lines must be A, B, C... exactly: an "A." inside the stem is not one
    while letters and letters[0] != "A":
        start, letters = start + 1, letters[1:]
    if len(letters) < MIN_CHOICES or letters != list(CHOICE_LETTERS[: len(letters)]):
        return text, None
    stem = "\n".join(lines[:start]).strip()
    if not stem:
        return text, None
    return stem, [_OPTION.match(line).group("text") for line in lines[start:]]


def keyed_choice(
    domain: Domain, value: str, choices: list[str], draft: ProgramDraft
) -> tuple[str, list[str], list[str]]:
    """The letter of the one option that is the program's value (as the domain compares
    answers), the options, and what was changed in them. Where no option is the value
    and each option is one number, the program writes its value into the nearest one
    (the Attacker's arithmetic slipped; the distractors stay its own). Raises
    :class:`ProgramFailed` when two options are the same, or when not exactly one of them
    is the value: the program decides the key, never the Attacker."""
    changes: list[str] = []
    keys = options_for(value, choices, domain.check_answer)
    if not keys and (mended := _nearest_written_over(value, choices)) is not None:
        index, choices = mended
        keys = [index]
        changes = [f"option {CHOICE_LETTERS[index]} is now the program's value, {value}"]
    folded = [answer_key(choice) for choice in choices]
    if len(set(folded)) < len(folded):
        raise ProgramFailed("two of the options are the same: each must be different", draft)
    if len(keys) == 1:
        return CHOICE_LETTERS[keys[0]], choices, changes
    letters = " and ".join(CHOICE_LETTERS[i] for i in keys)
    found = "is none of the options" if not keys else f"matches options {letters}"
    raise ProgramFailed(
        f"solution() returned {value}, which {found}: exactly one option must be the "
        "program's value, the others values a slip would give",
        draft,
    )


_ONE_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _nearest_written_over(value: str, choices: list[str]) -> tuple[int, list[str]] | None:
    """The options with the one nearest to ``value`` written over by it, when the value
    and every option are numbers (one an option, units around them kept); else None."""
    try:
        target = float(value)
    except ValueError:
        return None
    numbers = [_ONE_NUMBER.findall(choice) for choice in choices]
    if not all(len(found) == 1 for found in numbers):
        return None
    read = [float(found[0].replace(",", "")) for found in numbers]
    index = min(range(len(read)), key=lambda i: abs(read[i] - target))
    mended = list(choices)
    mended[index] = _ONE_NUMBER.sub(value, choices[index], count=1)
    return index, mended


def answer_value(
    value: Any, pattern: str | None = None, *, decimals: int | None = None
) -> str | None:
    """A program's value written as an answer (floats to 6 decimals, 3.0 as 3; with
    ``decimals``, the places the program rounded it to, so 12.0 rounded to one place is
    12.0 and a solve that reaches 11.6 does not agree), or None when it is none: not a
    finite number or non-empty text, or not the domain's shape."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = round(value, 6)
        if decimals:
            text = f"{value:.{min(decimals, 6)}f}"
        else:
            text = str(int(value)) if value.is_integer() else f"{value:.6f}".rstrip("0")
    elif isinstance(value, int | str):
        text = str(value).strip()
    else:
        return None
    if not text or (pattern and not re.fullmatch(pattern, text)):
        return None
    return text


def rounded_to(program: str) -> int | None:
    """The places ``round(x, d)`` gives the value a program returns (``return round(x, 1)``,
    or the name it returns assigned so), or None when it does not round it so."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return None
    rounded: dict[str, int] = {}
    returned: int | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            places = _places(node.value)
            if isinstance(target, ast.Name):
                if places is None:
                    rounded.pop(target.id, None)
                else:
                    rounded[target.id] = places
        elif isinstance(node, ast.Return) and node.value is not None:
            returned = _places(node.value)
            if returned is None and isinstance(node.value, ast.Name):
                returned = rounded.get(node.value.id)
    return returned


def _places(node: ast.expr) -> int | None:
    """``d`` of ``round(x, d)`` with a literal ``d`` >= 1; else None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "round"
        and len(node.args) == 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, int)
        and not isinstance(node.args[1].value, bool)
    ):
        return None
    return node.args[1].value if node.args[1].value >= 1 else None


def computing_lines(program: str) -> list[str]:
    """The statements of a program that compute (an assignment or return with arithmetic
    or a call): the steps a code-first question takes, and its count of hops."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    lines = []
    for node in ast.walk(tree):
        computes = isinstance(node, ast.AugAssign) or (
            isinstance(node, ast.Assign | ast.Return)
            and node.value is not None
            and any(isinstance(n, ast.BinOp | ast.Call) for n in ast.walk(node.value))
        )
        if computes:
            lines.append((node.lineno, ast.get_source_segment(program, node) or ""))
    return [text.strip() for _, text in sorted(lines) if text.strip()]
