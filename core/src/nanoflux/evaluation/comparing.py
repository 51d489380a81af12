"""Two results of one benchmark side by side: the paired difference and its significance.

Only results measured alike compare: the same benchmark, the same items in the same
order and the same protocol (:meth:`Protocol.differences`); anything else is refused,
since the difference would measure the protocol as much as the models.
"""

from __future__ import annotations

from ..errors import ConfigError
from .records import Comparison, ItemResult, ModelEval
from .statistics import mcnemar_exact, paired_bootstrap


class ProtocolMismatch(ConfigError):
    """Two results measured differently: their numbers are not comparable."""


def check_comparable(model: ModelEval, baseline: ModelEval) -> None:
    if model.benchmark != baseline.benchmark:
        raise ProtocolMismatch(
            f"the baseline was evaluated on {baseline.benchmark}, the model on {model.benchmark}"
        )
    if model.protocol is None or baseline.protocol is None:
        if model.answer_format != baseline.answer_format:
            raise ProtocolMismatch(
                f"protocols differ: {model.answer_format} vs {baseline.answer_format}"
            )
        return
    differences = model.protocol.differences(baseline.protocol)
    if differences:
        raise ProtocolMismatch(
            f"protocols differ ({'; '.join(differences)}): "
            f"model {model.protocol.label()}, baseline {baseline.protocol.label()}",
            hint="evaluate both under the same --protocol, --shots and --max-tokens",
        )


def compare(
    model: ModelEval,
    model_items: list[ItemResult],
    baseline: ModelEval,
    baseline_items: list[ItemResult],
    *,
    seed: int = 0,
) -> Comparison:
    check_comparable(model, baseline)
    if [r.id for r in model_items] != [r.id for r in baseline_items]:
        raise ConfigError("the two evaluations did not answer the same items in the same order")
    ours = [r.correct for r in model_items]
    theirs = [r.correct for r in baseline_items]
    model_only = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    baseline_only = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    interval, p_boot = paired_bootstrap(ours, theirs, seed=seed)
    return Comparison(
        model=model.model,
        baseline=baseline.model,
        n=len(ours),
        accuracy=model.accuracy,
        baseline_accuracy=baseline.accuracy,
        delta=model.accuracy - baseline.accuracy,
        delta_ci95=interval,
        model_only=model_only,
        baseline_only=baseline_only,
        p_value=mcnemar_exact(baseline_only, model_only),
        p_value_bootstrap=p_boot,
    )
