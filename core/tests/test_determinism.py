"""The determinism check of the ``*.python`` judge tools (issue 22.5): the programs that
passed it are refused by the screen or caught by the two runs, and what each part
promises holds in the real sandbox."""

from __future__ import annotations

import shutil

import pytest

from nanoflux.errors import ToolError
from nanoflux.kit import deterministic_value, screen_program
from nanoflux.sandbox import run_python

needs_sandbox = pytest.mark.skipif(shutil.which("bwrap") is None, reason="no bubblewrap")

# Each passed the screen before; each is refused now, for the reason named.
REFUSED = {
    "import posix\nprint(posix.urandom(1)[0] & 1)": "imports posix",
    "import nt\nprint(nt.urandom(1))": "imports nt",
    "from _io import open as o\nprint(o('/etc/hostname').read())": "imports _io",
    "import _random\nprint(_random.Random().random())": "imports _random",
    "print(getattr(__builtins__, 'op' + 'en')('/dev/urandom', 'rb').read(1)[0] & 1)": (
        "uses getattr()"
    ),
    "import datetime\nprint(getattr(datetime.datetime, 'utc' + 'now')().year)": ("uses getattr()"),
    "import datetime\nclock = datetime.datetime.now\nprint(clock().minute // 30)": (
        "uses .now (reads a clock)"
    ),
    "print(open('/proc/self/mountinfo').read())": "uses open()",
    "import codecs\nprint(codecs.open('/pr' + 'oc/self/mountinfo').read())": "'/proc/self",
    "print(hash('nanoflux') & 1)": "uses hash()",
    "def solution():\n    return id(object()) >> 12 & 1": "uses id()",
    "h = hash\nprint(h('x') & 1)": "uses hash()",
    "f = vars()['__builtins__']\nprint(f)": "uses vars()",
    "print(globals())": "uses globals()",
    "g = (x for x in [0])\nprint(g.gi_frame.f_builtins['open'])": "uses .gi_frame",
    "print(type(0).__subclasses__)": "uses .__subclasses__",
    "import operator\nprint(operator.attrgetter('now')(__import__('datetime').datetime)())": (
        "uses .attrgetter"
    ),
    "import sympy\nprint(sympy.sympify(\"__import__('os').urandom(1)\"))": (
        "a string that reads as code uses __import__()"
    ),
    "import sympy\nprint(sympy.randprime(1, 100))": "uses .randprime (randomness)",
    "import numpy as np\nprint(np.datetime64('now'))": "calls datetime64('now')",
    "import resource\nprint(resource.getrusage(0))": "imports resource (a clock)",
    "import gc\nprint(len(gc.get_objects()))": "imports gc",
}


@pytest.mark.parametrize("code", list(REFUSED))
def test_the_screen_refuses_each_route_it_knows(code):
    problems = " ".join(screen_program(code))
    assert REFUSED[code] in problems, problems


@pytest.mark.parametrize(
    "code",
    [
        "class Box:\n    def __init__(self, n):\n        super().__init__()\n        self.n = n\n"
        "if __name__ == '__main__':\n    print(Box(3).n)",
        "import sympy\nx = sympy.Symbol('x')\nprint(sympy.sympify('x**2 + 1').subs(x, 2))",
        "from datetime import date, timedelta\nprint(date(2024, 2, 28) + timedelta(days=2))",
        "import operator\nfrom functools import reduce\nprint(reduce(operator.mul, [1, 2, 3]))",
        "total = 'a' + 'b'\nprint(total, 'today is not a clock')",
    ],
)
def test_the_screen_still_lets_pure_computation_through(code):
    assert screen_program(code) == []


def test_a_long_sum_of_strings_is_screened_quickly():
    terms = " + ".join(["'ab'"] * 400)
    assert screen_program(f"x = {terms}\nprint(len(x))") == []


# -- what the screen cannot see, the two runs and the sandbox catch ------------------------


@needs_sandbox
def test_the_two_runs_salt_string_hashes_differently():
    # a set of strings iterates in the order of their salted hashes: one seed gives one
    # order, every time; the two runs use different seeds, so the order shows
    code = "print(''.join(set('abcdefghijklmnop')))"
    assert screen_program(code) == []
    same = {run_python(code, hash_seed=7).stdout for _ in range(2)}
    assert len(same) == 1
    seeds = {run_python(code, hash_seed=seed).stdout for seed in range(4)}
    assert len(seeds) > 1
    with pytest.raises(ToolError, match="non-deterministic: one run gave"):
        deterministic_value(code)


@needs_sandbox
def test_an_address_in_the_value_is_caught():
    code = "print(object())"  # '<object object at 0x...>': ASLR moves it between runs
    assert screen_program(code) == []
    with pytest.raises(ToolError, match="non-deterministic"):
        deterministic_value(code)


@needs_sandbox
def test_what_differs_between_runs_is_not_there_to_read():
    # past the screen (run_python runs what it is given), nothing varying can be read
    result = run_python(
        "import os\n"
        "def solution():\n"
        "    seen = []\n"
        "    for path in ('/proc/self/mountinfo', '/proc/uptime',\n"
        "                 '/proc/sys/kernel/random/uuid', '/dev/urandom', '/dev/random'):\n"
        "        try:\n"
        "            open(path, 'rb').close()\n"
        "            seen.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return seen\n"
    )
    assert result.ok, result.error
    assert result.value == []


@needs_sandbox
def test_a_deterministic_program_still_gives_its_value():
    code = "def solution():\n    return sorted({'b', 'a'}) + [sum(range(10))]"
    assert deterministic_value(code) == ["a", "b", 45]
