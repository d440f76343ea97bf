"""Why an expression fails on a payload, in words that quote nothing from it."""

import pytest

from chalicelib.mapping.expressions import ExpressionEvaluationError, compile_expression


def nested(depth):
    outer = current = []
    for _ in range(depth):
        inner = []
        current.append(inner)
        current = inner
    return outer


class Broken(dict):
    """A payload object whose reads fail as a bug in a library would."""

    def get(self, key, default=None):
        raise ValueError("secret-value")

    def __getitem__(self, key):
        raise ValueError("secret-value")


@pytest.mark.parametrize("text, body, reason", [
    ("length(@)", 5, "length() takes string or array or object, not number"),
    ("starts_with(@, 'x')", 5, "starts_with() takes string, not number"),
    ("length(a, b)", {}, "Expected 1 argument for function length(), received 2"),
    ("nope(a)", {}, "Unknown function: nope()"),
    ("sum(@)", [10**400, 1.5], "a number is out of range"),
    ("to_string(@)", nested(5000), "the payload is nested too deeply"),
    ("a.b", Broken(), "it failed on this payload (ValueError)"),
])
def test_a_failing_expression_names_itself_and_the_kind_of_failure(text, body, reason):
    with pytest.raises(ExpressionEvaluationError) as caught:
        compile_expression(text).evaluate(body)
    assert (caught.value.expression, caught.value.reason) == (text, reason)
    assert str(caught.value) == f"the expression {text!r} cannot be evaluated: {reason}"
    assert "secret-value" not in str(caught.value)
