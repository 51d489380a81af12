"""Judge tools: small, verifiable computations the Judge trusts over a model's opinion.

A tool is a function of one pydantic argument model. Registering it through the
``register_judge_tools`` hook makes it callable from the CLI (``nanoflux tools call``),
from domain verification, and, through its JSON schema, from function-calling judges.

A tool that declares when it applies (``applies_to(question) -> arguments | None``) is
consulted by the Judge itself: every such tool of the run's domain, and any tool a run
names in ``[judging] tools``. What its value says is declared by ``checks``: ``"answer"``,
the answer to the question (compared with the reference by the domain's checker);
``"consistency"``, a value the reference must equal but that cannot confirm it alone
(the number a worked solution arrives at: written by the same hand as the reference), so
it only ever contradicts; or ``"safety"``, a ``{"safe": bool, "flags": [...]}`` finding
about the reference.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .errors import ToolError, UsageError
from .records import Question, ToolResult

AppliesTo = Callable[[Question], dict[str, Any] | None]
"""``applies_to(question)``: the tool's arguments for this question, or None if it does
not apply. Returning arguments for an ``"answer"`` tool says: my value is the answer."""
Checks = Literal["answer", "consistency", "safety"]


@dataclass(frozen=True)
class JudgeTool:
    id: str
    domain: str
    description: str
    args_model: type[BaseModel]
    function: Callable[[Any], Any]
    #: when the Judge consults the tool on its own; None: only when called by id
    applies_to: AppliesTo | None = None
    #: what the value says: the question's answer, or a safety finding
    checks: Checks = "answer"

    def schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema()

    def parse_args(self, raw: dict[str, Any]) -> BaseModel:
        """Validate raw arguments; raise UsageError naming the bad field."""
        try:
            return self.args_model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(arguments)"
            raise UsageError(
                f"bad arguments for {self.id}: {where}: {first['msg']}",
                hint=f"see `nanoflux tools list` for the schema of {self.id}",
            ) from exc

    def call(self, raw: dict[str, Any]) -> ToolResult:
        """Run the tool. Bad arguments raise UsageError; a failure inside is ``ok=false``."""
        args = self.parse_args(raw)
        started = time.perf_counter()
        try:
            value = self.function(args)
        except ToolError as exc:
            return ToolResult(ok=False, error=exc.one_line(), seconds=time.perf_counter() - started)
        except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
            return ToolResult(
                ok=False,
                error=f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - started,
            )
        return ToolResult(ok=True, value=value, seconds=time.perf_counter() - started)


def judge_tool(
    id: str,
    *,
    domain: str,
    args: type[BaseModel] | None = None,
    applies_to: AppliesTo | None = None,
    checks: Checks = "answer",
):
    """Decorator that turns ``def f(args: ArgsModel) -> value`` into a :class:`JudgeTool`.

    The description is the function's docstring; the argument model is taken from the
    annotation of its single parameter when ``args`` is not given. ``applies_to`` and
    ``checks`` are described in this module's docstring.
    """

    def wrap(function: Callable[[Any], Any]) -> JudgeTool:
        model = args
        if model is None:
            (param,) = inspect.signature(function, eval_str=True).parameters.values()
            model = param.annotation
        return JudgeTool(
            id=id,
            domain=domain,
            description=inspect.cleandoc(function.__doc__ or "").split("\n\n")[0],
            args_model=model,
            function=function,
            applies_to=applies_to,
            checks=checks,
        )

    return wrap
