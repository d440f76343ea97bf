import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.mapping.transforms import ConversionError, TransformOptions, convert

ZOHO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def opts(kind: str, **kwargs) -> TransformOptions:
    return TransformOptions(type=kind, **kwargs)


def test_datetime_from_epoch_seconds_is_zoho_format_in_the_given_zone():
    options = opts("datetime", timezone="Asia/Kolkata")
    assert convert(1700000000, options) == "2023-11-15T03:43:20+05:30"


def test_datetime_from_epoch_milliseconds_is_read_as_milliseconds():
    assert convert(1700000000123, opts("datetime")) == "2023-11-14T22:13:20+00:00"


def test_datetime_from_iso_z_text_drops_fractions():
    assert convert("2024-01-15T10:00:00.123Z", opts("datetime")) == "2024-01-15T10:00:00+00:00"


def test_date_from_custom_format():
    assert convert("15/01/2024", opts("date", format="%d/%m/%Y")) == "2024-01-15"


def test_integer_from_numeric_text_and_scaled_currency():
    assert convert("12", opts("integer")) == 12
    assert convert(125050, opts("currency", scale=0.01)) == 1250.5


def test_integer_refuses_fractions_and_too_many_digits():
    with pytest.raises(ConversionError):
        convert(1.5, opts("integer"))
    with pytest.raises(ConversionError, match="too many digits"):
        convert(10**10, opts("integer"))


def test_boolean_words():
    assert convert("yes", opts("boolean")) is True
    assert convert("0", opts("boolean")) is False
    with pytest.raises(ConversionError):
        convert("maybe", opts("boolean"))


def test_multiselect_split_map_and_dedupe():
    options = opts("multiselect", split=",", map={"a": "Alpha"})
    assert convert("a, b, a,", options) == ["Alpha", "b"]


def test_lookup_keeps_19_digit_ids_as_strings():
    assert convert(5725767000000524157, opts("lookup")) == {"id": "5725767000000524157"}
    with pytest.raises(ConversionError):
        convert("not-an-id", opts("lookup"))


def test_text_max_length_truncates_or_refuses():
    assert convert("abcdef", opts("string", max_length=3, truncate=True)) == "abc"
    with pytest.raises(ConversionError, match="max_length"):
        convert("abcdef", opts("string", max_length=3))


def test_error_messages_name_the_type_never_the_value():
    with pytest.raises(ConversionError) as caught:
        convert({"secret": "s3cr3t-value"}, opts("integer"))
    assert "s3cr3t" not in str(caught.value)
    assert "object" in str(caught.value)


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_any_epoch_gives_a_zoho_datetime(seconds):
    assert ZOHO_DATETIME.match(convert(seconds, opts("datetime", timezone="America/New_York")))


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(timezone.utc)))
def test_iso_text_round_trips_to_the_same_instant(moment):
    text = convert(moment.isoformat(), opts("datetime"))
    assert datetime.fromisoformat(text) == moment.replace(microsecond=0)


@given(st.integers(min_value=-999_999_999, max_value=999_999_999))
def test_integers_survive_as_text(number):
    assert convert(str(number), opts("integer")) == number


def test_datetime_from_epoch_digits_in_text_and_a_lower_case_z():
    assert convert("1700000000", opts("datetime")) == "2023-11-14T22:13:20+00:00"
    assert convert(" 1700000000123 ", opts("date")) == "2023-11-14"
    assert convert("2024-01-15T10:00:00z", opts("datetime")) == "2024-01-15T10:00:00+00:00"


@pytest.mark.parametrize(("value", "message"), [
    (True, "expected a date or time, got boolean"),
    ([1], "expected a date or time, got array"),
    ("next tuesday", "expected a date or time, got text in another format"),
    ("9999-12-31T23:59:59-05:00", "a date or time out of range"),
])
def test_a_value_that_is_no_date_says_what_it_is_without_quoting_it(value, message):
    with pytest.raises(ConversionError) as caught:
        convert(value, opts("datetime"))
    assert str(caught.value) == message
