"""A look at a program's syntax before the sandbox starts: what would make its value a lie.

The sandbox keeps a program from harming the machine; it does not keep it honest. A
program that draws a random number, reads a clock, a file or the network gives a value
that is not a function of the question, so it cannot verify a reference answer. Those
programs are refused here, by their imports, names, attributes and string literals,
without starting the sandbox (Absolute Zero Reasoner screens its generated programs the
same way).

The screen also refuses every way to reach a name that the syntax does not show:
``getattr`` and its kin, ``globals()``/``vars()``, dunder and frame attributes,
``__import__``, ``eval``/``exec``. So ``getattr(datetime.datetime, 'utc' + 'now')`` is
refused for its ``getattr``, whatever the string becomes. A string literal that reads as
Python (libraries such as sympy evaluate strings) is screened as code too. What a
library does inside is out of the screen's sight: the two runs of
:func:`nanoflux.kit.programs.deterministic_value` catch a value that differs between them
(the README's security model says exactly what that guarantees).
"""

from __future__ import annotations

import ast

# Top-level modules, and what importing them would let the value depend on.
_MODULES = {
    "randomness": ("random", "_random", "secrets", "uuid"),
    "a clock": (
        "time",
        "timeit",
        "sched",
        "logging",
        "cProfile",
        "profile",
        "pstats",
        "tracemalloc",
        "resource",
    ),
    "files or processes": (
        "os",
        "posix",
        "nt",
        "_posixsubprocess",
        "sys",
        "io",
        "_io",
        "pathlib",
        "shutil",
        "tempfile",
        "glob",
        "fileinput",
        "filecmp",
        "linecache",
        "gzip",
        "zipfile",
        "tarfile",
        "zipimport",
        "dbm",
        "mailbox",
        "mmap",
        "fcntl",
        "select",
        "selectors",
        "pty",
        "tty",
        "termios",
        "pwd",
        "grp",
        "site",
        "sysconfig",
        "pkgutil",
        "runpy",
        "webbrowser",
        "faulthandler",
        "subprocess",
        "multiprocessing",
        "threading",
        "_thread",
        "concurrent",
        "signal",
        "_signal",
        "ctypes",
        "_ctypes",
        "importlib",
        "builtins",
        "pickle",
        "_pickle",
        "shelve",
        "sqlite3",
    ),
    "the network": (
        "socket",
        "_socket",
        "ssl",
        "_ssl",
        "urllib",
        "http",
        "xmlrpc",
        "socketserver",
        "requests",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "imaplib",
        "poplib",
        "asyncio",
    ),
    # code that runs strings or reaches objects the syntax does not name
    "the interpreter's internals": (
        "gc",
        "inspect",
        "marshal",
        "types",
        "code",
        "codeop",
        "pdb",
        "bdb",
        "trace",
        "dis",
        "pydoc",
        "doctest",
        "unittest",
        "copyreg",
    ),
}
BANNED_MODULES = {name: why for why, names in _MODULES.items() for name in names}
# Builtins that must not even be named: a name bound to one can be called anywhere.
BANNED_CALLS = {
    "open": "reads or writes files",
    "input": "reads input",
    "help": "reads files",
    "breakpoint": "stops for a debugger",
    "exec": "runs code it builds",
    "eval": "runs code it builds",
    "compile": "builds code",
    "__import__": "imports by name",
    "getattr": "reaches an attribute by a name built at run time",
    "setattr": "reaches an attribute by a name built at run time",
    "delattr": "reaches an attribute by a name built at run time",
    "globals": "reaches names the code does not show",
    "locals": "reaches names the code does not show",
    "vars": "reaches names the code does not show",
    "hash": "salted per interpreter: differs from run to run",
    "id": "an object's address, which differs from run to run",
}
# datetime.now(), date.today(): a clock without importing ``time``
CLOCK_METHODS = ("now", "today", "utcnow")
# numpy.datetime64('now'), pandas.Timestamp('today'): a clock named by a string
CLOCK_WORDS = ("now", "today")
CLOCK_PARSERS = ("datetime64", "Timestamp", "to_datetime", "Period")
_DUNDERS_ALLOWED = ("__init__", "__name__", "__main__", "__doc__", "__debug__")
# attributes that reach frames, code and names by strings: around every check above
BANNED_ATTRIBUTES = {
    **dict.fromkeys(
        (
            "gi_frame",
            "gi_code",
            "cr_frame",
            "cr_code",
            "ag_frame",
            "ag_code",
            "f_globals",
            "f_locals",
            "f_builtins",
            "f_back",
            "f_code",
            "tb_frame",
            "tb_next",
            "attrgetter",
            "methodcaller",
            "get_field",
            "ctypeslib",
        ),
        "the interpreter's internals",
    ),
    "open": "opens a file",
    "rvs": "randomness",
}
# ``numpy.random``, ``sympy.randprime``, ``from torch import rand``: randomness by name
_RANDOM_PREFIX = "rand"
# what a program may not name in a string: it differs between runs and between machines
BANNED_PATHS = ("/proc", "/dev", "/sys")
_CODE_MARKS = ("(", "[", ".", "import", "lambda")
_MAX_CODE_STRING = 10_000
_MAX_TERMS = 16


def screen_program(code: str) -> list[str]:
    """Why ``code`` cannot verify an answer, one reason per offending line; empty if none."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"line {exc.lineno}: syntax error: {exc.msg}"]
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return [f"the program cannot be parsed: {type(exc).__name__}"]
    problems = set()
    for node in ast.walk(tree):
        reason = _offence(node)
        if reason:
            problems.add(f"line {getattr(node, 'lineno', '?')}: {reason}")
    return sorted(problems, key=_line_number)


def _offence(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        return _imports([alias.name for alias in node.names])
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return _imports([module] if module else []) or _imports(
            [f"{module}.{alias.name}" for alias in node.names]
        )
    if isinstance(node, ast.Name):
        return _name(node)
    if isinstance(node, ast.Attribute):
        reason = _attribute(node.attr)
        return f"uses .{node.attr} ({reason})" if reason else None
    if isinstance(node, ast.Call):
        return _clock_word(node)
    if isinstance(node, ast.Constant | ast.BinOp) and isinstance(_text(node), str):
        return _string(_text(node))
    return None


def _imports(modules: list[str]) -> str | None:
    for module in modules:
        parts = module.split(".")
        if parts[0] in BANNED_MODULES:
            return f"imports {module} ({BANNED_MODULES[parts[0]]})"
        for part in parts[1:]:
            reason = _attribute(part)
            if reason:
                return f"imports {module} ({reason})"
    return None


def _name(node: ast.Name) -> str | None:
    if not isinstance(node.ctx, ast.Load):
        return None
    if node.id in BANNED_CALLS:
        return f"uses {node.id}() ({BANNED_CALLS[node.id]})"
    if _dunder(node.id):
        return f"uses {node.id} (the interpreter's internals)"
    return None


def _attribute(name: str) -> str | None:
    if name in BANNED_ATTRIBUTES:
        return BANNED_ATTRIBUTES[name]
    if name in CLOCK_METHODS:
        return "reads a clock"
    if name.lower().startswith(_RANDOM_PREFIX):
        return "randomness"
    if _dunder(name):
        return "the interpreter's internals"
    return None


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and name not in _DUNDERS_ALLOWED


def _clock_word(call: ast.Call) -> str | None:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name not in CLOCK_PARSERS:
        return None
    for argument in call.args:
        if isinstance(argument, ast.Constant) and argument.value in CLOCK_WORDS:
            return f"calls {name}({argument.value!r}) (reads a clock)"
    return None


def _text(node: ast.AST, depth: int = 0) -> object:
    """A string constant, or a sum of them (``'/pr' + 'oc'``), as the program will see it;
    None for anything else, and for a sum of more than a few terms (each of its parts is
    looked at on its own: a long chain would cost its length squared)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < _MAX_TERMS:
        left, right = _text(node.left, depth + 1), _text(node.right, depth + 1)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
    return None


def _string(text: str) -> str | None:
    if text.startswith(BANNED_PATHS):
        return f"names {text[:40]!r} (differs from run to run and machine to machine)"
    if len(text) > _MAX_CODE_STRING or not any(mark in text for mark in _CODE_MARKS):
        return None  # a name alone ("__main__", "x") does nothing when evaluated
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # prose, not code
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant | ast.BinOp):
            continue  # strings within strings: one level is what a library evaluates
        reason = _offence(node)
        if reason:
            return f"a string that reads as code {reason}"
    return None


def _line_number(problem: str) -> int:
    number = problem.split(":", 1)[0].removeprefix("line ")
    return int(number) if number.isdigit() else 0
