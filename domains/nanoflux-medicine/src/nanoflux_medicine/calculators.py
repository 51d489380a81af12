"""Clinical calculators: pure functions of published formulas.

The judge tools call them, and so may the Attacker's programs inside the sandbox
(``from nanoflux_medicine.calculators import egfr_ckd_epi_2021``). Each docstring names
the formula's source. Units are in the argument names.
"""

from __future__ import annotations

import math
from typing import Literal

Sex = Literal["female", "male"]


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


def _sex(sex: str) -> str:
    value = str(sex).strip().lower()
    if value in ("f", "female", "woman"):
        return "female"
    if value in ("m", "male", "man"):
        return "male"
    raise ValueError(f"sex must be 'female' or 'male', got {sex!r}")


def bmi(weight_kg: float, height_m: float) -> float:
    """Body-mass index, kg/m²: weight / height² (Quetelet; WHO)."""
    _positive(weight_kg=weight_kg, height_m=height_m)
    if height_m > 3:
        raise ValueError(f"height_m {height_m} looks like centimetres; give metres")
    return weight_kg / height_m**2


def bmi_category(value: float) -> str:
    """WHO adult classes: <18.5 underweight, <25 normal, <30 overweight, else obese."""
    if value < 18.5:
        return "underweight"
    if value < 25:
        return "normal weight"
    if value < 30:
        return "overweight"
    return "obese"


def egfr_ckd_epi_2021(creatinine_mg_dl: float, age: float, sex: str) -> float:
    """eGFR, mL/min/1.73 m², by the race-free CKD-EPI 2021 creatinine equation (Inker et al.,
    N Engl J Med 2021;385:1737-49): 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x
    0.9938^age [x 1.012 if female]; k = 0.7 (F) / 0.9 (M), a = -0.241 (F) / -0.302 (M)."""
    _positive(creatinine_mg_dl=creatinine_mg_dl, age=age)
    female = _sex(sex) == "female"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    value = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age
    return value * 1.012 if female else value


def cockcroft_gault(age: float, weight_kg: float, creatinine_mg_dl: float, sex: str) -> float:
    """Creatinine clearance, mL/min (Cockcroft & Gault, Nephron 1976;16:31-41):
    (140 - age) x weight / (72 x Scr) [x 0.85 if female]."""
    _positive(age=age, weight_kg=weight_kg, creatinine_mg_dl=creatinine_mg_dl)
    value = (140 - age) * weight_kg / (72 * creatinine_mg_dl)
    return value * 0.85 if _sex(sex) == "female" else value


def anion_gap(sodium: float, chloride: float, bicarbonate: float, potassium: float = 0.0) -> float:
    """Serum anion gap, mEq/L: Na - (Cl + HCO3), plus K when given."""
    return sodium + potassium - (chloride + bicarbonate)


def corrected_calcium(
    calcium_mg_dl: float, albumin_g_dl: float, normal_albumin: float = 4.0
) -> float:
    """Albumin-corrected calcium, mg/dL (Payne et al., BMJ 1973): Ca + 0.8 x (4.0 - albumin)."""
    _positive(calcium_mg_dl=calcium_mg_dl, albumin_g_dl=albumin_g_dl)
    return calcium_mg_dl + 0.8 * (normal_albumin - albumin_g_dl)


def mean_arterial_pressure(systolic: float, diastolic: float) -> float:
    """MAP, mmHg: DBP + (SBP - DBP) / 3."""
    _positive(systolic=systolic, diastolic=diastolic)
    if diastolic > systolic:
        raise ValueError("diastolic pressure above systolic")
    return diastolic + (systolic - diastolic) / 3


QTC_FORMULAS = ("bazett", "fridericia", "framingham", "hodges")


def qtc(qt_ms: float, heart_rate_bpm: float, formula: str = "bazett") -> float:
    """Corrected QT, ms, with RR = 60 / HR in seconds: Bazett QT/RR^(1/2) (1920);
    Fridericia QT/RR^(1/3) (1920); Framingham QT + 154 (1 - RR) (Sagie 1992);
    Hodges QT + 1.75 (HR - 60) (1983)."""
    _positive(qt_ms=qt_ms, heart_rate_bpm=heart_rate_bpm)
    rr = 60.0 / heart_rate_bpm
    if formula == "bazett":
        return qt_ms / math.sqrt(rr)
    if formula == "fridericia":
        return qt_ms / rr ** (1 / 3)
    if formula == "framingham":
        return qt_ms + 154 * (1 - rr)
    if formula == "hodges":
        return qt_ms + 1.75 * (heart_rate_bpm - 60)
    raise ValueError(f"unknown QTc formula {formula!r}; use one of {', '.join(QTC_FORMULAS)}")


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Body-surface area, m² (Mosteller, N Engl J Med 1987): sqrt(height x weight / 3600)."""
    _positive(height_cm=height_cm, weight_kg=weight_kg)
    return math.sqrt(height_cm * weight_kg / 3600)


def weight_based_dose(
    weight_kg: float, dose_per_kg: float, max_dose: float | None = None, doses_per_day: int = 1
) -> dict:
    """One dose = weight x dose per kg, capped at ``max_dose``; and the daily total."""
    _positive(weight_kg=weight_kg, dose_per_kg=dose_per_kg, doses_per_day=doses_per_day)
    dose = weight_kg * dose_per_kg
    capped = max_dose is not None and dose > max_dose
    if capped:
        dose = max_dose
    return {"dose": dose, "daily": dose * doses_per_day, "capped": capped}


# -- unit conversion ----------------------------------------------------------------------

# Molar masses, g/mol. BUN is urea's nitrogen: two N atoms, 2 x 14.007.
MOLAR_MASS = {
    "glucose": 180.156,
    "creatinine": 113.12,
    "cholesterol": 386.65,
    "triglycerides": 885.7,  # as triolein, the laboratory convention
    "urea": 60.056,
    "bun": 28.014,
    "calcium": 40.078,
    "uric_acid": 168.11,
    "bilirubin": 584.66,
}
# factor to mg/dL (mass) or to mmol/L (molar)
MASS_UNITS = {"mg/dl": 1.0, "g/dl": 1000.0, "g/l": 100.0, "mg/l": 0.1, "mg/100ml": 1.0}
MOLAR_UNITS = {
    "mmol/l": 1.0,
    "umol/l": 1e-3,
    "µmol/l": 1e-3,
    "μmol/l": 1e-3,
    "mol/l": 1e3,
    "nmol/l": 1e-6,
}


def _unit(unit: str) -> str:
    key = unit.strip().lower().replace(" ", "")
    if key not in MASS_UNITS and key not in MOLAR_UNITS:
        known = ", ".join(["mg/dL", "g/dL", "g/L", "mg/L", "mmol/L", "µmol/L", "nmol/L"])
        raise ValueError(f"unknown unit {unit!r}; use one of {known}")
    return key


#: body measures, in kg and in m: converted without an analyte (a 1.5B Attacker's
#: programs called ``convert(185, 'lb', 'kg', analyte='weight')`` in 7 drafts of a trial,
#: and ``convert(185, 'pounds', 'kg')`` in 5 of another), by symbol or by name
_BODY = (
    {"kg": (1.0, "kilogram"), "g": (1e-3, "gram"), "lb": (0.45359237, "pound", "lbs"),
     "oz": (0.028349523125, "ounce")},
    {"m": (1.0, "meter", "metre"), "cm": (1e-2, "centimeter", "centimetre"),
     "mm": (1e-3, "millimeter", "millimetre"), "in": (0.0254, "inch", "inches"),
     "ft": (0.3048, "foot", "feet")},
)  # fmt: skip
#: what convert() refuses: the problem states the factor, and the program multiplies
POUNDS = frozenset({"lb", "lbs", "pound", "pounds"})
#: each unit by its symbol, its names, and the plural of a name that takes an s
BODY_UNITS = tuple(
    {
        name: value
        for symbol, (value, *names) in units.items()
        for name in (symbol, *names, *(f"{n}s" for n in names if n[-1] not in "hst"))
    }
    for units in _BODY
)


def convert(value: float, from_unit: str, to_unit: str, analyte: str = "") -> float:
    """Convert a concentration between mass (mg/dL, g/L, ...) and molar (mmol/L, µmol/L)
    units by the analyte's molar mass: mmol/L = mg/dL x 10 / M; or a weight (kg, g, oz)
    or a length (m, cm, mm, in, ft), for which the analyte is not needed. Not pounds: the
    problem states its factor (:data:`POUNDS`)."""
    source, target = from_unit.strip().lower(), to_unit.strip().lower()
    if {source, target} & POUNDS:
        raise ValueError(
            "pounds convert by the factor the problem states (1 lb is 0.4536 kg, or 1 kg is "
            "2.2 lb: the answer can depend on which); state it, and multiply by it"
        )
    for units in BODY_UNITS:
        if source in units and target in units:
            return value * units[source] / units[target]
    name = analyte.strip().lower().replace(" ", "_")
    if not name and any(source in units or target in units for units in BODY_UNITS):
        known = ", ".join(", ".join(units) for units in _BODY)
        raise ValueError(
            f"cannot convert {from_unit!r} to {to_unit!r}: a weight converts to a weight, a "
            f"length to a length ({known})"
        )
    if name not in MOLAR_MASS:
        raise ValueError(f"unknown analyte {analyte!r}; known: {', '.join(sorted(MOLAR_MASS))}")
    source, target = _unit(from_unit), _unit(to_unit)
    if source in MASS_UNITS:
        mmol_per_l = value * MASS_UNITS[source] * 10 / MOLAR_MASS[name]
    else:
        mmol_per_l = value * MOLAR_UNITS[source]
    if target in MASS_UNITS:
        return mmol_per_l * MOLAR_MASS[name] / 10 / MASS_UNITS[target]
    return mmol_per_l / MOLAR_UNITS[target]
