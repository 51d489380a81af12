"""No template of a domain pack shows a value the model could copy into its reply.

The 1.5B Attacker wrote the literal string ``Python code`` as its program (a JSON
template's placeholder), asked for the BMI of "a 70 kg person" with the template's
example ``bmi(weight_kg=70, height_m=1.75)``, and for the melting temperature of the
template's example sequence ``ATGGCCATT``.
"""

from __future__ import annotations

import re

import pytest

from nanoflux.plugins import PluginHost

PACKS = ["math", "medicine", "genomics"]
# a call with a value written in it, a JSON template, a sequence, an example answer
COPYABLE = {
    "a call with a value": re.compile(r"\w\([^)]*=\s*['\"\d]"),
    "a JSON template": re.compile(r"\{\s*\"\w+\"\s*:"),
    "a sequence": re.compile(r"\b[ACGTU]{6,}\b"),
    "an example value": re.compile(r"\be\.g\.\s*\S*\d", re.I),
}


@pytest.mark.parametrize("name", PACKS)
def test_no_template_shows_a_value_to_copy(name):
    prompts = PluginHost.load(allow=[name]).domain(name).prompts()
    for role in ("attacker", "defender", "judge"):
        template = getattr(prompts, role)
        for what, pattern in COPYABLE.items():
            assert not pattern.search(template), f"{name} {role}: {what}"


def test_the_check_finds_what_the_old_templates_showed():
    old = (
        '{"text": "the full question",\n "program": "Python code"}\n'
        "from nanoflux_medicine.calculators import bmi\n"
        "    return round(bmi(weight_kg=70, height_m=1.75), 1)\n"
        '    return round(100 * gc_content("ATGGCCATT"), 1)\n'
        '"reference_answer": "the answer only, e.g. 53"'
    )
    assert all(pattern.search(old) for pattern in COPYABLE.values())
