"""Expressions over a webhook: JMESPath over the parsed body, or ``header:Name`` (pure).

Every expression in a mapping document (``when``, ``delivery_id``, a field's
``path``, a locator's ``value``, ``event_time``, ``{...}`` in a template) is
compiled once when the document is loaded; a bad one is a document error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

HEADER_PREFIX = "header:"


class ExpressionSyntaxError(ValueError):
    """The text is neither valid JMESPath nor a ``header:Name`` reference."""


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``evaluate`` reads the body or a header."""

    text: str
    _compiled: Any = None
    header: str | None = None

    def evaluate(self, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        """The value the expression picks, or None when the path leads nowhere."""
        if self.header is not None:
            return (headers or {}).get(self.header)
        return self._compiled.search(body)


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
