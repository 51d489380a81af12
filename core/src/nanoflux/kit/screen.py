"""A look at a program's syntax before the sandbox starts: what would make its value a lie.

The sandbox keeps a program from harming the machine; it does not keep it honest. A
program that draws a random number, reads a clock, a file or the network gives a value
that is not a function of the question, so it cannot verify a reference answer. Those
programs are refused here, by their imports and calls, without starting the sandbox
(Absolute Zero Reasoner screens its generated programs the same way). What slips past
a syntactic screen (``hash()`` of a string, ``id()`` of an object) is caught by running
the program twice (:func:`nanoflux.kit.programs.deterministic_value`).
"""

from __future__ import annotations

import ast

# Top-level modules, and what importing them would let the value depend on.
_MODULES = {
    "randomness": ("random", "secrets", "uuid"),
    "a clock": ("time", "timeit", "sched"),
    "files or processes": (
        "os",
        "sys",
        "io",
        "pathlib",
        "shutil",
        "tempfile",
        "glob",
        "fileinput",
        "subprocess",
        "multiprocessing",
        "threading",
        "concurrent",
        "signal",
        "ctypes",
        "importlib",
        "builtins",
        "pickle",
        "shelve",
        "sqlite3",
    ),
    "the network": (
        "socket",
        "ssl",
        "urllib",
        "http",
        "requests",
        "httpx",
        "aiohttp",
        "ftplib",
        "smtplib",
        "asyncio",
    ),
}
BANNED_MODULES = {name: why for why, names in _MODULES.items() for name in names}
# ``numpy.random``, ``from torch import random``: randomness under another package
_BANNED_PARTS = {"random": "randomness"}
BANNED_CALLS = {
    "open": "reads or writes files",
    "input": "reads input",
    "exec": "runs code it builds",
    "eval": "runs code it builds",
    "compile": "builds code",
    "__import__": "imports by name",
    "breakpoint": "stops for a debugger",
}
# datetime.now(), date.today(): a clock without importing ``time``
CLOCK_METHODS = ("now", "today", "utcnow")
# reaching the interpreter's internals gets around every check above
BANNED_NAMES = ("__builtins__", "__loader__", "__spec__")
BANNED_ATTRIBUTES = ("__subclasses__", "__globals__", "__code__", "__builtins__", "__import__")


def screen_program(code: str) -> list[str]:
    """Why ``code`` cannot verify an answer, one reason per offending line; empty if none."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"line {exc.lineno}: syntax error: {exc.msg}"]
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return [f"the program cannot be parsed: {type(exc).__name__}"]
    problems = []
    for node in ast.walk(tree):
        reason = _offence(node)
        if reason:
            problems.append(f"line {getattr(node, 'lineno', '?')}: {reason}")
    return sorted(set(problems), key=_line_number)


def _offence(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        return _imports([alias.name for alias in node.names])
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return _imports([module] if module else []) or _imports(
            [f"{module}.{alias.name}" for alias in node.names]
        )
    if isinstance(node, ast.Call):
        function = node.func
        if isinstance(function, ast.Name) and function.id in BANNED_CALLS:
            return f"calls {function.id}() ({BANNED_CALLS[function.id]})"
        if isinstance(function, ast.Attribute) and function.attr in CLOCK_METHODS:
            return f"calls .{function.attr}() (reads a clock)"
    if isinstance(node, ast.Name) and node.id in BANNED_NAMES:
        return f"uses {node.id} (the interpreter's internals)"
    if isinstance(node, ast.Attribute):
        if node.attr in BANNED_ATTRIBUTES:
            return f"uses .{node.attr} (the interpreter's internals)"
        if node.attr in _BANNED_PARTS:
            return f"uses .{node.attr} ({_BANNED_PARTS[node.attr]})"
    return None


def _imports(modules: list[str]) -> str | None:
    for module in modules:
        parts = module.split(".")
        if parts[0] in BANNED_MODULES:
            return f"imports {module} ({BANNED_MODULES[parts[0]]})"
        for part in parts[1:]:
            if part in _BANNED_PARTS:
                return f"imports {module} ({_BANNED_PARTS[part]})"
    return None


def _line_number(problem: str) -> int:
    number = problem.split(":", 1)[0].removeprefix("line ")
    return int(number) if number.isdigit() else 0
