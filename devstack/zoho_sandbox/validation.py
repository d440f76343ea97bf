"""Checks one record of a write request the way Zoho does, producing Zoho's record-level errors.

Pure: no store, no clock. Existence of lookup targets is asked through the `LookupResolver`
callable the caller passes in. Zoho stops at the first problem of a record and reports it in
`data[i]`; so does `check_record`. Uniqueness needs every record and is checked by the store.

Choices where Zoho's documentation is silent or disagrees:

- `expected_data_type` names the field's `data_type` from the fields metadata (`integer`,
  `ownerlookup`, `multiselectpicklist`...), which is what a person fixing a mapping needs.
- Values are not coerced: a number sent to a text field, or `"5"` to an integer field, is
  INVALID_DATA. `bigint` is the exception Zoho documents: a number or a digit string.
- A value over a number field's digit limit is INVALID_DATA with `maximum_length` (the digits).
- Picklists reject values outside `pick_list_values` with `supported_values` (v8 behaviour).
- `null`, `""` (and `[]` for a multi-select) clear a field; on a mandatory field that is
  MANDATORY_NOT_FOUND. Keys starting with `$` other than `$append_values` are ignored, as Zoho
  ignores the `$` system keys of a record read back and sent again; so is `id` on insert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .clock import is_zoho_date, parse_zoho_datetime
from .responses import (
    MSG_INVALID_DATA,
    MSG_INVALID_FIELD,
    MSG_MANDATORY,
    MSG_READ_ONLY,
    MSG_UNKNOWN_ID,
    error_item,
    field_error,
)
from .schema import DECIMAL_PLACES, USERS_BY_ID, FieldSpec, ModuleSpec

Mode = Literal["create", "update", "seed"]
LookupResolver = Callable[[str, str], "str | None"]
"""(module API name, record id) -> the record's display name, or None when no such record."""

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
PHONE = re.compile(r"^[0-9+()\- ]*[0-9][0-9+()\- ]*$")
WEBSITE = re.compile(
    r"^(https?://)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(:\d{1,5})?([/?#]\S*)?$"
)
RECORD_ID = re.compile(r"^\d{1,19}$")
DIGITS = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class RecordCheck:
    """The outcome for one record: normalised `values` to write, or the first `error`."""

    values: dict[str, Any]
    append_fields: frozenset[str] = frozenset()
    layout: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class _Invalid(Exception):
    """Carries the record-level error of the first failing check out of nested helpers."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("code"))
        self.error = error


def check_record(
    module: ModuleSpec, item: Any, index: int, mode: Mode, resolve_lookup: LookupResolver
) -> RecordCheck:
    """Validate `data[index]` of a create, update or seed request against `module`."""
    if not isinstance(item, dict):
        error = error_item(
            "INVALID_DATA",
            MSG_INVALID_DATA,
            {
                "expected_data_type": "jsonobject",
                "api_name": "data",
                "json_path": f"$.data[{index}]",
            },
        )
        return RecordCheck({}, error=error)
    try:
        values = _check_fields(module, item, index, mode, resolve_lookup)
        if mode == "create":
            _check_mandatory_present(module, values, index)
        append_fields = _check_append_values(module, item.get("$append_values"), index, values)
        layout = _check_layout(item.get("Layout"), index)
    except _Invalid as invalid:
        return RecordCheck({}, error=invalid.error)
    return RecordCheck(values, append_fields, layout)


def _check_fields(
    module: ModuleSpec, item: dict[str, Any], index: int, mode: Mode, resolve: LookupResolver
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in item.items():
        if key == "id" or key == "Layout" or key.startswith("$"):
            continue
        spec = module.get_field(key)
        if spec is None:
            raise _Invalid(field_error("INVALID_DATA", MSG_INVALID_FIELD, key, index))
        if spec.read_only and mode != "seed":
            raise _Invalid(field_error("INVALID_DATA", MSG_READ_ONLY, key, index))
        if value is None or value == "" or value == []:
            if spec.mandatory and mode == "update":
                raise _Invalid(field_error("MANDATORY_NOT_FOUND", MSG_MANDATORY, key, index))
            values[key] = None
            continue
        values[key] = check_value(spec, value, index, resolve)
    return values


def _check_mandatory_present(module: ModuleSpec, values: dict[str, Any], index: int) -> None:
    for spec in module.fields:
        if spec.mandatory and values.get(spec.api_name) is None:
            raise _Invalid(field_error("MANDATORY_NOT_FOUND", MSG_MANDATORY, spec.api_name, index))


def _check_append_values(
    module: ModuleSpec, append: Any, index: int, values: dict[str, Any]
) -> frozenset[str]:
    if append is None:
        return frozenset()
    if not isinstance(append, dict):
        raise _Invalid(
            field_error(
                "INVALID_DATA",
                MSG_INVALID_DATA,
                "$append_values",
                index,
                expected_data_type="jsonobject",
            )
        )
    chosen = set()
    for name, flag in append.items():
        spec = module.get_field(name)
        if spec is None or spec.data_type != "multiselectpicklist":
            raise _Invalid(field_error("INVALID_DATA", MSG_INVALID_FIELD, name, index))
        if not isinstance(flag, bool):
            raise _Invalid(
                field_error(
                    "INVALID_DATA",
                    MSG_INVALID_DATA,
                    "$append_values",
                    index,
                    expected_data_type="boolean",
                )
            )
        if flag and values.get(name) is not None:
            chosen.add(name)
    return frozenset(chosen)


def _check_layout(layout: Any, index: int) -> dict[str, Any] | None:
    if layout is None:
        return None
    if not isinstance(layout, dict) or not RECORD_ID.match(str(layout.get("id", ""))):
        raise _Invalid(
            field_error(
                "INVALID_DATA", MSG_INVALID_DATA, "Layout", index, expected_data_type="jsonobject"
            )
        )
    return {"id": str(layout["id"])}


def check_value(spec: FieldSpec, value: Any, index: int, resolve: LookupResolver) -> Any:
    """The value to store for a non-empty `value` of `spec`, or raise `_Invalid`."""
    checker = _CHECKERS[spec.data_type]
    return checker(spec, value, index, resolve)


def _type_error(spec: FieldSpec, index: int, message: str = MSG_INVALID_DATA) -> _Invalid:
    return _Invalid(
        field_error(
            "INVALID_DATA", message, spec.api_name, index, expected_data_type=spec.data_type
        )
    )


def _too_long(spec: FieldSpec, index: int) -> _Invalid:
    return _Invalid(
        field_error(
            "INVALID_DATA", MSG_INVALID_DATA, spec.api_name, index, maximum_length=spec.max_length
        )
    )


def _string(spec: FieldSpec, value: Any, index: int, pattern: re.Pattern[str] | None) -> str:
    if not isinstance(value, str):
        raise _type_error(spec, index)
    if len(value) > spec.max_length:
        raise _too_long(spec, index)
    if pattern is not None and not pattern.match(value):
        raise _type_error(spec, index)
    return value


def _text(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    return _string(spec, value, index, None)


def _email(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    return _string(spec, value, index, EMAIL)


def _phone(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    return _string(spec, value, index, PHONE)


def _website(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    return _string(spec, value, index, WEBSITE)


def _picklist(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    if not isinstance(value, str):
        raise _type_error(spec, index)
    if value not in spec.picklist:
        raise _unsupported(spec, index)
    return value


def _unsupported(spec: FieldSpec, index: int) -> _Invalid:
    return _Invalid(
        field_error(
            "INVALID_DATA",
            MSG_INVALID_DATA,
            spec.api_name,
            index,
            supported_values=list(spec.picklist),
        )
    )


def _multiselect(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise _type_error(spec, index)
    if any(entry not in spec.picklist for entry in value):
        raise _unsupported(spec, index)
    return list(dict.fromkeys(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error(spec, index)
    if len(str(abs(value))) > spec.max_length:
        raise _too_long(spec, index)
    return value


def _bigint(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    if isinstance(value, str) and DIGITS.match(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _type_error(spec, index)
    if len(str(abs(number))) > spec.max_length:
        raise _too_long(spec, index)
    return str(number)


def _decimal(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> int | float:
    if not _is_number(value) or not math.isfinite(value):
        raise _type_error(spec, index)
    places = DECIMAL_PLACES.get(spec.data_type, 2)
    if abs(value) >= 10 ** max(spec.max_length - places, 1):
        raise _too_long(spec, index)
    return value if isinstance(value, int) else round(value, places)


def _boolean(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> bool:
    if not isinstance(value, bool):
        raise _type_error(spec, index)
    return value


def _date(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    if not is_zoho_date(value):
        raise _type_error(spec, index)
    return str(value)


def _datetime(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> str:
    if parse_zoho_datetime(value) is None:
        raise _type_error(spec, index)
    return str(value)


def _reference_id(spec: FieldSpec, value: Any, index: int) -> str:
    if not isinstance(value, dict):
        raise _type_error(spec, index)
    raw = value.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not RECORD_ID.match(str(raw)):
        raise _type_error(spec, index)
    return str(raw)


def _lookup(spec: FieldSpec, value: Any, index: int, resolve: LookupResolver) -> dict[str, str]:
    record_id = _reference_id(spec, value, index)
    assert spec.lookup_module is not None
    name = resolve(spec.lookup_module, record_id)
    if name is None:
        raise _type_error(spec, index, MSG_UNKNOWN_ID)
    return {"name": name, "id": record_id}


def _owner(spec: FieldSpec, value: Any, index: int, _: LookupResolver) -> dict[str, str]:
    user = USERS_BY_ID.get(_reference_id(spec, value, index))
    if user is None:
        raise _type_error(spec, index, MSG_UNKNOWN_ID)
    return user.as_owner()


_CHECKERS: dict[str, Callable[[FieldSpec, Any, int, LookupResolver], Any]] = {
    "text": _text,
    "textarea": _text,
    "autonumber": _text,
    "email": _email,
    "phone": _phone,
    "website": _website,
    "picklist": _picklist,
    "multiselectpicklist": _multiselect,
    "integer": _integer,
    "bigint": _bigint,
    "double": _decimal,
    "currency": _decimal,
    "percent": _decimal,
    "formula": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "lookup": _lookup,
    "ownerlookup": _owner,
}
