"""The free screen of a code-first clinical vignette, before any model answers it: the
kit's (:class:`~nanoflux.kit.CodeFirstScreen`), with what medicine knows.

A formula the vignette names is computed by the pack's calculator, not by hand: told to
change every number of a seed, the 1.5B Attacker changed glucose's 18 mg/dL per mmol/L
to 19, in the text and in its program alike. With the calculator, a constant changed in
the text makes the Judge's solve disagree with the program instead of agreeing with it.
Every calculator argument is a value the vignette states (its sex and formula in words)
and lies in a range a patient can have: a 1.5B Attacker asked for the BMI of "a 70 kg
person" with ``height_m=1.75``, a height it never stated. The program's other numbers
are stated or are conversion factors a clinician knows; the answer is rounded; the
numbers are not those of a seed vignette.
"""

from __future__ import annotations

import re
from importlib import resources

from nanoflux.kit import READER_CONSTANTS, Call, CodeFirstScreen, calls_in, public_functions
from nanoflux.records import Question

from . import calculators

#: values a patient can have, by calculator parameter: outside them a vignette is invented
RANGES = {
    "weight_kg": (2, 300, "a patient's weight in kg"),
    "height_m": (0.45, 2.3, "a height in metres: 175 cm is 1.75"),
    "height_cm": (45, 230, "a height in cm"),
    "age": (18, 110, "an adult's age in years: the equations are for adults"),
    "creatinine_mg_dl": (0.2, 15, "serum creatinine in mg/dL: divide µmol/L by 88.4"),
    "sodium": (110, 170, "serum sodium in mEq/L"),
    "chloride": (70, 130, "serum chloride in mEq/L"),
    "bicarbonate": (4, 45, "serum bicarbonate in mEq/L"),
    "potassium": (1.5, 8, "serum potassium in mEq/L"),
    "calcium_mg_dl": (4, 16, "total calcium in mg/dL"),
    "albumin_g_dl": (1, 6, "serum albumin in g/dL"),
    "systolic": (60, 260, "a systolic pressure in mmHg"),
    "diastolic": (30, 150, "a diastolic pressure in mmHg"),
    "qt_ms": (250, 700, "a QT interval in ms"),
    "heart_rate_bpm": (30, 220, "a heart rate in beats per minute"),
    "doses_per_day": (1, 8, "doses a day"),
}
#: how a vignette names a calculator's text argument
WORDS = {
    "female": ("woman", "women", "she", "her", "girl", "lady", "mother"),
    "male": ("man", "men", "he", "his", "him", "boy", "gentleman", "father"),
    "f": ("female", "woman", "she", "her"),
    "m": ("male", "man", "he", "his"),
    "umol/l": ("µmol/l", "μmol/l", "micromol/l"),
    "bun": ("blood urea nitrogen",),
    "uric_acid": ("uric acid", "urate"),
    "triglycerides": ("triglyceride",),
}
#: what a clinician converts with unasked: feet and inches (exact by definition), glucose
#: and creatinine units. Not pounds: 1 lb is 0.4536 kg to some and 1/2.2 to others, and
#: a BMI of 180 lb at 5 ft 3 in is 31.9 by one and 32.0 by the other, so a vignette in
#: pounds states its factor (two accepted examples and two seeds did not)
CONSTANTS = READER_CONSTANTS | {
    *(2.54, 0.0254, 0.3048, 30.48),  # inches and feet in cm and m
    *(18, 88.4, 0.85),
}


def seeds_path() -> str:
    return str(resources.files("nanoflux_medicine").joinpath("seeds", "vignettes.jsonl"))


SCREEN = CodeFirstScreen(
    constants=CONSTANTS,
    functions=public_functions(calculators),
    ranges=RANGES,
    words=WORDS,
    seeds=seeds_path(),
    exact="the question must say how to round, and the program round it so",
)

#: what a vignette names (lower case), and the calculator that computes it
NAMED = {
    r"cockcroft": "cockcroft_gault",
    r"ckd-epi|\begfr\b": "egfr_ckd_epi_2021",
    r"body[- ]mass index|\bbmi\b": "bmi",
    r"mosteller": "bsa_mosteller",
    r"anion gap": "anion_gap",
    r"corrected calcium|albumin-corrected": "corrected_calcium",
    r"mean arterial pressure": "mean_arterial_pressure",
    r"\bqtc\b|bazett|fridericia|hodges": "qtc",
    # a value given in mass units and asked in molar ones, or the reverse
    r"mg/dl.*(?:mmol/l|[µμu]mol/l)|(?:mmol/l|[µμu]mol/l).*mg/dl": "convert",
}


#: calculators with rival formulas, and how a vignette names the one its program calls:
#: asked for "his cardiac index" without a word of Mosteller, the blind solve cannot
#: know which body-surface area the program computed (DuBois gives another)
RIVALS = {
    "bsa_mosteller": (r"mosteller|3600", "the Mosteller formula"),
    "cockcroft_gault": (r"cockcroft|140\s*(?:-|−|minus)\s*(?:the\s+)?age", "Cockcroft-Gault"),
    "egfr_ckd_epi_2021": (r"ckd-epi", "the CKD-EPI 2021 equation"),
    "qtc": (r"bazett|fridericia|framingham|hodges", "the QTc formula (Bazett, Fridericia...)"),
}


def unnamed_formulas(text: str, called: set[str]) -> list[str]:
    """A calculator with rival formulas that the program calls and the vignette never
    names."""
    return [
        f"the program calls {name}(), but the problem never says it uses {said}: name the "
        "formula, so that one answer is right"
        for name, (pattern, said) in RIVALS.items()
        if name in called and not re.search(pattern, text)
    ]


#: constants a vignette states in words, by calculator: how to find the one it states,
#: the published value, and how to say it. Told to change every number of a seed, the
#: 1.5B Attacker wrote corrected calcium as adding 0.6, 0.7 or 0.9 mg/dL per g/dL (7 of
#: 8 drafts of a trial); the calculator adds 0.8, so the program and the text disagree.
PUBLISHED = {
    "corrected_calcium": (
        r"(\d+(?:\.\d+)?)\s*mg/dl\s+(?:for|per)\s+(?:each\s+)?(?:1\s+)?g/dl",
        0.8,
        "corrected calcium adds 0.8 mg/dL for each 1 g/dL of albumin below 4",
    ),
    "bsa_mosteller": (
        r"divided\s+by\s+(\d+(?:\.\d+)?)",
        3600,
        "the Mosteller area is the square root of (height in cm times weight in kg over 3600)",
    ),
    "cockcroft_gault": (
        r"(0\.\d+)\s+(?:for\s+(?:a\s+)?wom[ae]n|factor)|factor\s+(?:of\s+)?(0\.\d+)",
        0.85,
        "Cockcroft-Gault multiplies by 0.85 for a woman",
    ),
}


def changed_constants(text: str, called: set[str]) -> list[str]:
    """A published constant of a calculator the program calls, stated otherwise."""
    problems = []
    for name, (pattern, value, said) in PUBLISHED.items():
        if name not in called:
            continue
        for match in re.finditer(pattern, text.lower()):
            stated = float(next(group for group in match.groups() if group))
            if stated != value:
                problems.append(
                    f"the problem states {match.group(0).strip()}, but {said}: keep the "
                    "formula's published constants, change only the patient's values"
                )
    return problems


#: a published rule stated the wrong way round. Told to change a seed's names, the 1.5B
#: Attacker made its woman a man and kept "times 0.85 for a woman" as "for a man" (6
#: drafts of a trial; the blind solve applied it, the calculator did not)
MISSTATED = {
    r"0\.85\s+(?:for|in|if)\s+(?:a\s+|the\s+)?(?:man|men|male|males)\b": (
        "Cockcroft-Gault multiplies by 0.85 for a woman only: for a man, say no factor"
    ),
}


def misstated_rules(text: str) -> list[str]:
    return [
        f"the problem says {match.group(0)!r}, but {rule}"
        for pattern, rule in MISSTATED.items()
        for match in re.finditer(pattern, text)
    ]


#: how a vignette says its patient's sex, by the value a calculator takes
SEXES = {
    "female": ("woman", "female", "she", "her", "hers", "herself", "girl", "lady"),
    "male": ("man", "male", "he", "his", "him", "himself", "boy", "gentleman"),
}


def mixed_sex(text: str, calls: list[Call]) -> list[str]:
    """A patient the program treats as one sex whom the vignette also calls the other: the
    1.5B Attacker wrote "A 67-year-old man ... Her eGFR ... Which stage is she in?" for
    ``sex='male'``, and the round accepted it."""
    for call in calls:
        sex = str(call.arguments.get("sex", "")).lower()
        sex = {"f": "female", "m": "male"}.get(sex, sex)
        if sex not in SEXES:
            continue
        other = next(s for s in SEXES if s != sex)
        said = [w for w in SEXES[other] if re.search(rf"\b{w}\b", text)]
        if said:
            return [
                f"the program's patient is {sex} ({call.function}(sex={call.arguments['sex']!r})), "
                f"but the problem also says {said[0]!r}: one patient, one sex throughout"
            ]
    return []


#: weight-based infusions, by drug: the usual adult range, in the unit it is written in,
#: generously bounded (a rate past these is not given to a patient). Told to vary the
#: dopamine seed, the 1.5B Attacker wrote epinephrine at 10 mcg/kg/min (ten times the top
#: of its range), fentanyl at 1 mcg/kg/min (its range is per hour), and drips of
#: dexamethasone, atropine and furosemide that are not given so; right sums about an
#: infusion no one gives teach a false clinical fact. Sources: the drugs' US labels and
#: critical-care references (dopamine 2-20, dobutamine 2-20 mcg/kg/min; norepinephrine,
#: epinephrine 0.01-1; heparin 12-18 units/kg/h after a bolus; insulin 0.1 units/kg/h).
INFUSIONS = {
    "dopamine": (1, 50, "mcg/kg/min"),
    "dobutamine": (1, 40, "mcg/kg/min"),
    "norepinephrine": (0.01, 3, "mcg/kg/min"),
    "epinephrine": (0.01, 2, "mcg/kg/min"),
    "phenylephrine": (0.1, 10, "mcg/kg/min"),
    "milrinone": (0.1, 1, "mcg/kg/min"),
    "nitroprusside": (0.1, 10, "mcg/kg/min"),
    "esmolol": (25, 300, "mcg/kg/min"),
    "propofol": (5, 200, "mcg/kg/min"),
    "dexmedetomidine": (0.1, 2, "mcg/kg/h"),
    "fentanyl": (0.25, 10, "mcg/kg/h"),
    "midazolam": (0.01, 0.3, "mg/kg/h"),
    "heparin": (5, 30, "units/kg/h"),
    "insulin": (0.02, 0.2, "units/kg/h"),
}
_MASS = {"mcg": 1.0, "µg": 1.0, "μg": 1.0, "microgram": 1.0, "mg": 1000.0, "milligram": 1000.0}
_RATE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(mcg|µg|μg|micrograms?|mg|milligrams?|units?)\s*/\s*kg\s*/\s*"
    r"(min(?:ute)?|h(?:ou)?r?)\b"
)


def _per(amount: str, time: str) -> tuple[str, float]:
    """A rate's unit as INFUSIONS writes it, and what one of it is in micrograms (or
    units) per minute."""
    amount = amount.rstrip("s")
    mass = "units" if amount.startswith("unit") else "mcg" if _MASS[amount] == 1 else "mg"
    minutes = 1 if time.startswith("min") else 60
    return f"{mass}/kg/{'min' if minutes == 1 else 'h'}", _MASS.get(amount, 1.0) / minutes


def infusion_rates(text: str) -> list[str]:
    """A weight-based rate of a drug not given so, or outside its usual adult range. The
    drug is the last one named before the rate, in the same sentence."""
    problems = []
    for rate in _RATE.finditer(text):
        before = re.split(r"[.;?!]\s", text[: rate.start()])[-1]
        unit, scale = _per(rate.group(2), rate.group(3))
        known = [word for word in re.findall(r"[a-z]+", before) if word in INFUSIONS]
        if not known:
            problems.append(
                f"{rate.group(0)}: name the drug, one given as a weight-based infusion "
                f"({', '.join(INFUSIONS)}), at a rate in its usual range"
            )
            continue
        drug = known[-1]
        low, high, usual = INFUSIONS[drug]
        _, usual_scale = _per(*usual.split("/kg/"))
        if unit.split("/")[0] != usual.split("/")[0] and "units" in (unit + usual):
            problems.append(f"{drug} is dosed in {usual}, not {unit}")
            continue
        value = float(rate.group(1)) * scale / usual_scale
        if not low <= value <= high:
            problems.append(
                f"{drug} at {rate.group(0)} is outside its usual adult range "
                f"({low:g} to {high:g} {usual}): use a rate a patient is given"
            )
    return problems


def screen(question: Question) -> list[str]:
    """A named formula computed without its calculator, or stated with other constants
    than its calculator's, then the kit's screen."""
    calls = calls_in(question.program or "", SCREEN.functions)
    called = {call.function for call in calls}
    text = question.text.lower()
    unused = [
        name
        for pattern, name in NAMED.items()
        if question.program and name not in called and re.search(pattern, text, re.S)
    ]
    return [
        *(
            f"the problem names what {name}() computes: the program must call {name}(), "
            "the pack's calculator, not work it out by hand"
            for name in dict.fromkeys(unused)
        ),
        *changed_constants(text, called),
        *misstated_rules(text),
        *unnamed_formulas(text, called),
        *mixed_sex(text, calls),
        *infusion_rates(text),
        *SCREEN(question),
    ]
