"""Each conversion's result at its edges, and the exact reason a value does not fit its type."""

import pytest

from chalicelib.mapping.transforms import ConversionError, TransformOptions, convert


def opts(kind, **kwargs):
    return TransformOptions(type=kind, **kwargs)


@pytest.mark.parametrize("value, options, message", [
    ("abc", opts("integer"), "expected a number, got text that is not one"),
    ("NaN", opts("decimal"), "expected a finite number"),
    ("-Infinity", opts("integer"), "expected a finite number"),
    (1.5, opts("integer"), "expected a whole number for integer"),
    ("2.5", opts("bigint"), "expected a whole number for bigint"),
    (3, opts("boolean"), "expected a boolean, got number"),
    ("maybe", opts("boolean"), "expected a boolean, got text that is not one"),
    (None, opts("boolean"), "expected a boolean, got null"),
    ([True], opts("boolean"), "expected a boolean, got array"),
    (12.0, opts("lookup"), "expected a record id, got number"),
    (True, opts("owner"), "expected a record id, got boolean"),
    ({"id": "1"}, opts("lookup"), "expected a record id, got object"),
    ("12a", opts("lookup"), "expected a record id of up to 19 digits"),
    ("1" * 20, opts("owner"), "expected a record id of up to 19 digits"),
    (5, opts("multiselect"), "expected a list or text, got number"),
    ({"a": 1}, opts("multiselect"), "expected a list or text, got object"),
    (["a", None], opts("multiselect"), "expected text items, got null"),
    (["a", True], opts("multiselect"), "expected text items, got boolean"),
    (["a", ["b"]], opts("multiselect"), "expected text items, got array"),
])
def test_a_value_that_does_not_fit_says_why_without_the_value(value, options, message):
    with pytest.raises(ConversionError) as caught:
        convert(value, options)
    assert str(caught.value) == message


@pytest.mark.parametrize("value, options, result", [
    (0, opts("boolean"), False),
    (1, opts("boolean"), True),
    (0.0, opts("boolean"), False),
    (1.0, opts("boolean"), True),
    (" Yes ", opts("boolean"), True),
    (12, opts("lookup"), {"id": "12"}),
    (" 12 ", opts("owner"), {"id": "12"}),
    ("a; b;;a ", opts("multiselect", split=";"), ["a", "b"]),
    ("a;b", opts("multiselect"), ["a;b"]),
    (["x", " ", "", "y", 3, 2.5], opts("multiselect"), ["x", "y", "3", "2.5"]),
    (["g", "s"], opts("multiselect", map={"g": "Gold", "s": 7}), ["Gold", "7"]),
    (["a", "A"], opts("multiselect"), ["a", "A"]),
    ("12.5", opts("integer", scale=2), 25),
    (125000, opts("integer", scale=0.01), 1250),
    (3, opts("integer", scale=10), 30),
    (7, opts("currency", scale=0.5), 3.5),
    (99999999999999, opts("decimal"), 99999999999999),
    ("-200", opts("currency"), -200),
    ("2.50", opts("decimal"), 2.5),
    ("4.0", opts("percent"), 4),
])
def test_a_value_converts_to_what_zoho_takes(value, options, result):
    converted = convert(value, options)
    assert converted == result and type(converted) is type(result)


def test_a_map_key_for_a_boolean_is_its_json_word():
    assert convert(True, opts("string", map={"true": "Yes", "false": "No"})) == "Yes"
    assert convert(False, opts("string", map={"true": "Yes", "false": "No"})) == "No"


@pytest.mark.parametrize("value, options, message", [
    ({"a": 1}, opts("string"), "expected text, got object"),
    (True, opts("date"), "expected a date or time, got boolean"),
    (1e30, opts("datetime"), "epoch number out of range"),
    ("2024-01-01", opts("date", timezone="Mars/Base"), "unknown time zone 'Mars/Base'"),
])
def test_a_text_or_time_that_does_not_fit_says_why(value, options, message):
    with pytest.raises(ConversionError) as caught:
        convert(value, options)
    assert str(caught.value) == message


@pytest.mark.parametrize("value, options, result", [
    (True, opts("string"), "true"),
    (False, opts("string"), "false"),
    ("abc", opts("string", max_length=3), "abc"),
    (100_000_000_000, opts("datetime"), "1973-03-03T09:46:40+00:00"),
    (99_999_999_999, opts("datetime"), "5138-11-16T09:46:39+00:00"),
    (0, opts("datetime", timezone="utc"), "1970-01-01T00:00:00+00:00"),
])
def test_a_text_or_time_converts_to_what_zoho_takes(value, options, result):
    assert convert(value, options) == result
