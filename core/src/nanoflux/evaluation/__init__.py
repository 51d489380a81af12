"""Benchmark evaluation: accuracy with a confidence interval, validity flags, and paired
significance between two models evaluated under the same protocol.

========================  ==========================================================
:mod:`.protocols`         how an item is asked (json, text, cot, cot-fewshot)
:mod:`.extraction`        how the answer is read from a reply
:mod:`.harness`           the one evaluation path: a benchmark under one protocol,
                          each model resumable in its folder (eval, pipeline, ablate)
:mod:`.comparing`         two results on the same items: paired difference, McNemar
:mod:`.running`           asking every item, checking, summarising
:mod:`.validity`          parroting and format-failure flags on every result
:mod:`.statistics`        Wilson interval, exact McNemar, paired bootstrap
:mod:`.records`           ItemResult, ModelEval, Comparison
:mod:`.files`             the folder, written per item and resumable; ``--json``
========================  ==========================================================

Benchmarks are read by :func:`nanoflux.domains.load_benchmark`; the user turn of an
item and a worked reply are training's (:func:`nanoflux.training.item_question`), so
that a tuned model is asked in the shape it was trained on.
"""

from ..domains import choices_text
from ..training import item_question
from .comparing import ProtocolMismatch, check_comparable, compare
from .extraction import Extraction, extract_answer
from .files import (
    ITEMS_FILE,
    PARTIAL_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    EvalFolder,
    EvalIdentity,
    read_eval,
    report_json,
    write_eval,
    write_report,
)
from .harness import EvalResult, Harness
from .protocols import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_PROTOCOL,
    DEFAULT_SHOTS,
    PROTOCOLS,
    Protocol,
    build_request,
    default_exemplars,
    exemplar_reply,
    make_protocol,
    resolve_protocol,
)
from .records import Comparison, ItemResult, ModelEval, Validity
from .running import answer_item, evaluate_model, evaluate_model_async, summarise
from .statistics import (
    Z95,
    agree_within_noise,
    difference_interval,
    mcnemar_exact,
    paired_bootstrap,
    wilson_interval,
)
from .validity import validity

ANSWER_FORMATS = PROTOCOLS


def final_answer_of(text: str) -> str | None:
    """The answer a free-text reply gives (see :func:`extract_answer`), or None."""
    return extract_answer(text).answer


__all__ = [
    "ANSWER_FORMATS",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PROTOCOL",
    "DEFAULT_SHOTS",
    "ITEMS_FILE",
    "PARTIAL_FILE",
    "PROTOCOLS",
    "REPORT_FILE",
    "SUMMARY_FILE",
    "Z95",
    "Comparison",
    "EvalFolder",
    "EvalIdentity",
    "EvalResult",
    "Extraction",
    "Harness",
    "ItemResult",
    "ModelEval",
    "Protocol",
    "ProtocolMismatch",
    "Validity",
    "agree_within_noise",
    "answer_item",
    "build_request",
    "check_comparable",
    "choices_text",
    "compare",
    "default_exemplars",
    "difference_interval",
    "evaluate_model",
    "evaluate_model_async",
    "exemplar_reply",
    "extract_answer",
    "final_answer_of",
    "item_question",
    "make_protocol",
    "mcnemar_exact",
    "paired_bootstrap",
    "read_eval",
    "report_json",
    "resolve_protocol",
    "summarise",
    "validity",
    "wilson_interval",
    "write_eval",
    "write_report",
]
