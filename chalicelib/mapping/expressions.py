"""Expressions over a webhook: JMESPath over the parsed body, or ``header:Name`` (pure).

Every expression in a mapping document (``when``, ``delivery_id``, a field's
``path``, a locator's ``value``, ``event_time``, ``{...}`` in a template) is
compiled once when the document is loaded; a bad one is a document error.
An expression that compiles can still fail on one payload (``length(x)`` on a
number, an unknown function): ``evaluate`` then raises ``ExpressionEvaluationError``
and nothing else; ``header:`` expressions never raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import (
    ArityError,
    JMESPathError,
    JMESPathTypeError,
    UnknownFunctionError,
)

from chalicelib.values import frozen

HEADER_PREFIX = "header:"


class ExpressionSyntaxError(ValueError):
    """The text is neither valid JMESPath nor a ``header:Name`` reference."""


class ExpressionEvaluationError(ValueError):
    """An expression failed on a payload; names the expression and the kind of failure."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"the expression {expression!r} cannot be evaluated: {reason}")
        self.expression = expression
        self.reason = reason


@frozen
class Expression:
    """A compiled expression: ``evaluate`` reads the body or a header."""

    text: str
    _compiled: Any = None
    header: str | None = None

    def evaluate(self, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        """The value the expression picks, or None when the path leads nowhere.

        Raises ``ExpressionEvaluationError`` when the expression fails on this body.
        """
        if self.header is not None:
            return (headers or {}).get(self.header)
        try:
            return self._compiled.search(body)
        # JMESPath checks types itself, but its functions also call Python's
        # (math.ceil of an infinity, int of a huge string): every failure of an
        # evaluation over a caller's data is the same error to our callers.
        except (JMESPathError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            # 'from None': the original message may quote a value from the payload.
            raise ExpressionEvaluationError(self.text, _reason(exc)) from None


def compile_expression(text: str) -> Expression:
    """Compile ``text``; headers are looked up by their lower-cased name."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionSyntaxError("an expression must be a non-empty string")
    if text.startswith(HEADER_PREFIX):
        name = text[len(HEADER_PREFIX):].strip().lower()
        if not name:
            raise ExpressionSyntaxError(f"{text!r} names no header")
        return Expression(text=text, header=name)
    try:
        return Expression(text=text, _compiled=jmespath.compile(text))
    except JMESPathError as exc:
        raise ExpressionSyntaxError(f"{text!r} is not valid JMESPath: {exc}") from exc


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: null, false, '', [] and {} are false; everything else true."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)) and not value:
        return False
    return True


def _reason(exc: Exception) -> str:
    """What went wrong, in words that hold no value from the payload."""
    if isinstance(exc, JMESPathTypeError):
        # Its own message quotes the value; the types are enough to act on.
        expected = " or ".join(exc.expected_types)
        return f"{exc.function_name}() takes {expected}, not {exc.actual_type}"
    if isinstance(exc, (ArityError, UnknownFunctionError)):
        return str(exc)  # names the function and counts, nothing from the payload
    if isinstance(exc, ArithmeticError):
        return "a number is out of range"
    if isinstance(exc, RecursionError):
        return "the payload is nested too deeply"
    return f"it failed on this payload ({type(exc).__name__})"
