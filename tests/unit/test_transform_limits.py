"""Values at the edges of what Zoho takes: a mapping error, never an unforeseen one."""

import pytest

from chalicelib.mapping.transforms import ConversionError, TransformOptions, convert


@pytest.mark.parametrize("kind, value", [
    ("currency", 10**14), ("decimal", -(10**14)), ("percent", 1000), ("currency", 1e16),
])
def test_a_number_with_more_digits_than_zohos_field_holds_is_refused(kind, value):
    with pytest.raises(ConversionError, match=f"too many digits for {kind}"):
        convert(value, TransformOptions(type=kind))


def test_the_largest_numbers_zoho_holds_pass():
    assert convert(10**14 - 1, TransformOptions(type="currency")) == 10**14 - 1
    assert convert(999.99, TransformOptions(type="percent")) == 999.99
    assert convert(10**16 - 1, TransformOptions(type="currency", scale=0.01)) == 99999999999999.99


@pytest.mark.parametrize("value, kind", [
    ("9999-12-31T23:59:59-05:00", "datetime"), ("0001-01-01T00:00:00+05:00", "date"),
])
def test_a_time_beyond_the_calendar_once_in_its_zone_is_a_conversion_error(value, kind):
    with pytest.raises(ConversionError, match="out of range"):
        convert(value, TransformOptions(type=kind))


def test_a_zone_whose_old_offset_has_seconds_is_written_in_utc():
    # Paris kept its local mean time (+00:09:21) until 1911: Zoho takes no seconds in an offset.
    moment = convert("1850-01-01T00:00:00", TransformOptions(type="datetime",
                                                              timezone="Europe/Paris"))
    assert moment == "1849-12-31T23:50:39+00:00"
    assert convert("2026-06-01T12:00:00", TransformOptions(
        type="datetime", timezone="Europe/Paris")) == "2026-06-01T12:00:00+02:00"
