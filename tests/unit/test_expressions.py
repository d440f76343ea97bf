"""Expressions: a failed evaluation is one error of ours, naming the expression, never the value."""

import pytest

from chalicelib.mapping.expressions import ExpressionEvaluationError, compile_expression


def test_a_function_given_the_wrong_type_raises_an_evaluation_error_naming_the_expression():
    expression = compile_expression("length(data.x)")
    with pytest.raises(ExpressionEvaluationError) as caught:
        expression.evaluate({"data": {"x": 123456789}})
    message = str(caught.value)
    assert "length(data.x)" in message
    assert "number" in message
    assert "123456789" not in message
    assert caught.value.expression == "length(data.x)"


def test_an_unknown_function_fails_at_evaluation_as_an_evaluation_error():
    expression = compile_expression("lenght(name)")
    with pytest.raises(ExpressionEvaluationError, match="lenght"):
        expression.evaluate({"name": "secret-value"})


def test_a_number_too_large_for_a_function_is_an_evaluation_error():
    expression = compile_expression("ceil(to_number(amount))")
    with pytest.raises(ExpressionEvaluationError, match="ceil"):
        expression.evaluate({"amount": "1e999"})


def test_an_evaluation_error_is_a_value_error_so_callers_can_treat_it_as_bad_input():
    assert issubclass(ExpressionEvaluationError, ValueError)


def test_header_expressions_never_raise_whatever_the_body():
    expression = compile_expression("header:X-Event-Id")
    assert expression.evaluate(None, {"x-event-id": "e1"}) == "e1"
    assert expression.evaluate([1, 2], None) is None


def test_a_path_that_leads_nowhere_is_none_not_an_error():
    assert compile_expression("data.missing.deeper").evaluate({"data": 3}) is None
