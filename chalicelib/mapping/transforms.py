"""Value transforms: one payload value to the JSON Zoho expects for a field type (pure).

Output formats follow Zoho CRM v8: date ``yyyy-MM-dd``, datetime
``yyyy-MM-ddTHH:mm:ss+HH:MM`` without fractions, multiselect a list of strings,
lookup and owner ``{"id": "..."}`` with the id as a string (ids are up to 19
digits, too long for a double), numbers as JSON numbers.

A value that cannot be converted raises ``ConversionError`` naming what was
expected and the *type* of what came, never the value itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.values import frozen

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url"})
NUMBER_TYPES = frozenset({"integer", "bigint", "decimal", "currency", "percent"})
FIELD_TYPES = TEXT_TYPES | NUMBER_TYPES | frozenset(
    {"picklist", "multiselect", "boolean", "date", "datetime", "lookup", "owner"}
)

_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", ""})
_ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
_INTEGER_LIMITS = {"integer": 999_999_999, "bigint": 999_999_999_999_999_999}
# Zoho's decimal and currency fields hold 16 digits, 2 of them after the point by
# default; a percent field 5 (zoho-api-facts section 5).
_DECIMAL_LIMITS = {"decimal": 10**14, "currency": 10**14, "percent": 10**3}
# Above this an epoch number is taken as milliseconds (year 5138 in seconds).
_EPOCH_MILLIS_THRESHOLD = 100_000_000_000


class ConversionError(ValueError):
    """A value does not fit the field type; the message never holds the value."""


@frozen
class TransformOptions:
    """The per-field options that shape a conversion (from the field spec)."""

    type: str = "string"
    map: dict[str, Any] | None = None
    split: str | None = None
    scale: float | None = None
    timezone: str | None = None
    format: str | None = None
    max_length: int | None = None
    truncate: bool = False


def type_name(value: Any) -> str:
    """The JSON type name of ``value``, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def zone(name: str | None) -> tzinfo:
    """The time zone called ``name`` (UTC when absent)."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    # Loaded here: a mapping that names no time zone never pays for it on a cold start.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConversionError(f"unknown time zone {name!r}") from exc


def convert(value: Any, options: TransformOptions) -> Any:
    """Convert a non-null payload value for ``options.type``."""
    kind = options.type
    if options.map is not None and kind != "multiselect":
        value = _translate(value, options.map)
    if kind in TEXT_TYPES or kind == "picklist":
        return _to_text(value, options)
    if kind == "multiselect":
        return _to_multiselect(value, options)
    if kind in ("integer", "bigint"):
        return _to_integer(value, kind, options.scale)
    if kind in ("decimal", "currency", "percent"):
        return _to_decimal(value, kind, options.scale)
    if kind == "boolean":
        return _to_boolean(value)
    if kind == "date":
        return _to_datetime(value, options).date().isoformat()
    if kind == "datetime":
        return format_zoho_datetime(_to_datetime(value, options))
    if kind in ("lookup", "owner"):
        return {"id": _to_id(value)}
    raise ConversionError(f"unknown field type {kind!r}")


def is_mapped(value: Any, mapping: dict[str, Any]) -> bool:
    """Whether ``value`` has an entry in a ``map`` table (keys are strings)."""
    return _map_key(value) in mapping


def format_zoho_datetime(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss+HH:MM``, as Zoho's datetime fields and headers take it.

    An offset with seconds (a zone's local mean time before 1900) cannot be
    written so: such a moment is given in UTC instead.
    """
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=0).isoformat()


def _map_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _translate(value: Any, mapping: dict[str, Any]) -> Any:
    key = _map_key(value)
    return mapping[key] if key in mapping else value


def _to_text(value: Any, options: TransformOptions) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        raise ConversionError(f"expected text, got {type_name(value)}")
    if options.max_length is not None and len(text) > options.max_length:
        if not options.truncate:
            raise ConversionError(f"longer than max_length {options.max_length}")
        text = text[: options.max_length]
    return text


def _to_multiselect(value: Any, options: TransformOptions) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = value.split(options.split) if options.split else [value]
    elif isinstance(value, list):
        items = value
    else:
        raise ConversionError(f"expected a list or text, got {type_name(value)}")
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
        if options.map is not None:
            item = _translate(item, options.map)
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise ConversionError(f"expected text items, got {type_name(item)}")
        if str(item) not in out:
            out.append(str(item))
    return out


def _to_number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConversionError(f"expected a number, got {type_name(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ConversionError("expected a number, got text that is not one") from exc
    if not number.is_finite():
        raise ConversionError("expected a finite number")
    return number


def _to_integer(value: Any, kind: str, scale: float | None) -> int:
    number = _to_number(value)
    if scale is not None:
        number *= Decimal(str(scale))
    if number != number.to_integral_value():
        raise ConversionError(f"expected a whole number for {kind}")
    result = int(number)
    if abs(result) > _INTEGER_LIMITS[kind]:
        raise ConversionError(f"too many digits for {kind}")
    return result


def _to_decimal(value: Any, kind: str, scale: float | None) -> int | float:
    number = _to_number(value)
    if scale is not None:
        number *= Decimal(str(scale))
    if abs(number) >= _DECIMAL_LIMITS[kind]:
        raise ConversionError(f"too many digits for {kind}")
    if number == number.to_integral_value() and abs(number) < 10**15:
        return int(number)
    return float(number)


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConversionError("expected a boolean, got text that is not one")
    raise ConversionError(f"expected a boolean, got {type_name(value)}")


def _to_datetime(value: Any, options: TransformOptions) -> datetime:
    tz = zone(options.timezone)
    if isinstance(value, bool):
        raise ConversionError("expected a date or time, got boolean")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(tz)
        except (OverflowError, OSError, ValueError) as exc:
            raise ConversionError("epoch number out of range") from exc
    if not isinstance(value, str):
        raise ConversionError(f"expected a date or time, got {type_name(value)}")
    text = value.strip()
    try:
        if options.format:
            moment = datetime.strptime(text, options.format)
        elif text.isdigit():
            return _to_datetime(int(text), options)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ConversionError("expected a date or time, got text in another format") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        return moment.astimezone(tz)
    except (OverflowError, ValueError) as exc:  # past year 9999 or before year 1 in ``tz``
        raise ConversionError("a date or time out of range") from exc


def _to_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConversionError(f"expected a record id, got {type_name(value)}")
    text = str(value).strip()
    if not _ID_PATTERN.match(text):
        raise ConversionError("expected a record id of up to 19 digits")
    return text


__all__ = [
    "FIELD_TYPES",
    "ConversionError",
    "TransformOptions",
    "convert",
    "format_zoho_datetime",
    "is_mapped",
    "type_name",
    "zone",
]
