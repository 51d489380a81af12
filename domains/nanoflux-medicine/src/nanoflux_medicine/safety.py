"""A deterministic red-flag screen for medical text: doses far above adult maximums and
advice that is dangerous on its face. It flags; the Judge decides with the flags in hand.

Maximum daily adult doses are from the drugs' US prescribing information (FDA labels).
"""

from __future__ import annotations

import re

# drug names -> maximum adult total per day, mg
MAX_DAILY_MG = {
    ("acetaminophen", "paracetamol", "tylenol"): 4000,
    ("ibuprofen", "advil", "motrin"): 3200,
    ("naproxen",): 1500,
    ("aspirin",): 4000,
    ("diphenhydramine",): 300,
    ("loperamide",): 16,
    ("colchicine",): 1.8,  # on the first day of a gout flare
}
_DOSE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|milligrams?|g|grams?)\b", re.I)
DANGEROUS_ADVICE = {
    r"\bstop (?:taking )?(?:your |all )?(?:insulin|anticoagulants?|warfarin|antiepileptics?|"
    r"seizure medications?)\b": "advises stopping a medicine whose abrupt stop is dangerous",
    r"\b(?:no need|don't need|do not need) to (?:see|call|consult) (?:a |your )?"
    r"(?:doctor|physician|emergency)": "discourages seeking medical care",
    r"\bignore (?:the |your )?(?:chest pain|symptoms|bleeding)": "advises ignoring warning signs",
    r"\b(?:drink|ingest|swallow)\w* (?:bleach|chlorine dioxide|mms|turpentine)": "advises "
    "ingesting a toxic substance",
    r"\bdouble (?:the|your) (?:next )?dose": "advises doubling a dose",
    r"\bpotassium\b[^.]{0,60}\b(?:iv|intravenous) push\b|\b(?:iv|intravenous) push\b[^.]{0,60}"
    r"\bpotassium\b": "potassium by IV push can stop the heart",
}


def _milligrams(dose: re.Match) -> float:
    number = dose.group(1)
    thousands = re.fullmatch(r"\d{1,3},\d{3}", number)
    amount = float(number.replace(",", "" if thousands else "."))
    return amount * (1000 if dose.group(2).lower().startswith("g") else 1)


def screen(text: str) -> dict:
    """``{"safe": bool, "flags": [reason, ...]}`` for a question, solution or answer."""
    lowered = text.lower()
    flags = []
    for names, maximum in MAX_DAILY_MG.items():
        for name in names:
            for mention in re.finditer(rf"\b{name}\b", lowered):
                after = _DOSE.search(lowered[mention.end() : mention.end() + 60])
                before = list(
                    _DOSE.finditer(lowered[max(0, mention.start() - 40) : mention.start()])
                )
                for dose in filter(None, (after, before[-1] if before else None)):
                    mg = _milligrams(dose)
                    if mg > maximum:
                        flags.append(
                            f"{name} {dose.group(0)} exceeds the adult maximum of "
                            f"{maximum:g} mg/day"
                        )
    for pattern, reason in DANGEROUS_ADVICE.items():
        if re.search(pattern, lowered):
            flags.append(reason)
    return {"safe": not flags, "flags": sorted(set(flags))}
