"""A mapping checked against Zoho's field metadata (pure; the metadata is handed in).

``check_against_fields`` reads the document as stored (a dict, even one whose
shape has problems, so that one save reports everything) and the metadata of
each module it names (``GET /crm/v8/settings/fields``, fetched by an adapter):
the module exists; every field exists, is writable through the API (not
read-only, not a formula or an auto-number) and its ``type`` fits Zoho's
``data_type``; every picklist value the mapping can produce (``map`` values,
``value``, ``default``) is allowed; the locator's field exists (an External ID
field for ``external``); a mandatory field is never cleared. Each problem names
the rule, the field and what to change. Rules only update records, so the
module's mandatory fields that a rule does not map are noted, not refused.

``planned_value_problem`` judges one value of a planned update (the preview):
the checks Zoho makes on a value's form, never quoting the value.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.mapping.transforms import FIELD_TYPES

ModuleFields = Sequence[Mapping[str, Any]]
"""One module's fields as Zoho's field metadata lists them."""

# Zoho data types each of our field types fills. ``string`` (the default) also
# fills a picklist: a constant such as {"value": "Stripe"} needs no type.
FITS: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "email", "phone", "website", "picklist"}),
    "textarea": frozenset({"text", "textarea"}),
    "email": frozenset({"email", "text", "textarea"}),
    "phone": frozenset({"phone", "text", "textarea"}),
    "url": frozenset({"website", "text", "textarea"}),
    "picklist": frozenset({"picklist", "text", "textarea"}),
    "multiselect": frozenset({"multiselectpicklist"}),
    "integer": frozenset({"integer", "bigint", "double", "currency", "percent"}),
    "bigint": frozenset({"bigint"}),
    "decimal": frozenset({"double", "currency", "percent"}),
    "currency": frozenset({"currency", "double"}),
    "percent": frozenset({"percent", "double"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
    "lookup": frozenset({"lookup"}),
    "owner": frozenset({"ownerlookup"}),
}
# The type to suggest for each Zoho data type.
TYPE_FOR = {
    "text": "string", "textarea": "textarea", "email": "email", "phone": "phone",
    "website": "url", "picklist": "picklist", "multiselectpicklist": "multiselect",
    "integer": "integer", "bigint": "bigint", "double": "decimal", "currency": "currency",
    "percent": "percent", "boolean": "boolean", "date": "date", "datetime": "datetime",
    "lookup": "lookup", "ownerlookup": "owner",
}
_COMPUTED = {"formula": "a formula field: Zoho computes it",
             "autonumber": "an auto-number field: Zoho numbers it"}
_TEXT = frozenset({"text", "textarea", "email", "phone", "website"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_ID = re.compile(r"^\d{1,19}$")
_SHOWN_VALUES = 12


@dataclass
class FieldReport:
    """What the metadata says of a mapping: problems (refused) and notes (said)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def modules_named(raw: Any) -> list[str]:
    """The module API names a stored document's rules name, once each, in order."""
    names: list[str] = []
    rules = raw.get("rules") if isinstance(raw, dict) else None
    for rule in rules if isinstance(rules, list) else []:
        module = rule.get("module") if isinstance(rule, dict) else None
        if isinstance(module, str) and module and module not in names:
            names.append(module)
    return names


def check_against_fields(raw: Any, modules: Mapping[str, ModuleFields | None]) -> FieldReport:
    """Check a stored document's rules against ``modules`` (None: Zoho has no such module)."""
    report = FieldReport()
    rules = raw.get("rules") if isinstance(raw, dict) else None
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict) or not isinstance(rule.get("module"), str):
            continue
        module = rule["module"]
        if module not in modules:
            continue
        _Rule(index, rule, module, modules[module], report).check()
    return report


class _Rule:
    """The checks of one rule, adding to a shared report."""

    def __init__(self, index: int, rule: dict[str, Any], module: str,
                 fields: ModuleFields | None, report: FieldReport) -> None:
        self.where = f"rules[{index}]"
        self.name = rule.get("name") if isinstance(rule.get("name"), str) else self.where
        self.rule = rule
        self.module = module
        self.fields = {str(f.get("api_name")): f for f in fields or ()}
        self.known = fields is not None
        self.report = report

    def problem(self, where: str, what: str) -> None:
        self.report.problems.append(f"{where}: {what}")

    def check(self) -> None:
        if not self.known:
            self.problem(f"{self.where}.module", f"Zoho has no module {self.module!r} "
                         f"(rule {self.name}); use the module's API name, such as Contacts")
            return
        self.check_locator(self.rule.get("record"))
        specs = self.rule.get("fields")
        mapped = set()
        for api_name, spec in specs.items() if isinstance(specs, dict) else ():
            mapped.add(api_name)
            self.check_field(api_name, {"path": spec} if isinstance(spec, str) else spec)
        mandatory = sorted(name for name, meta in self.fields.items()
                           if meta.get("system_mandatory") and name not in mapped)
        if mandatory:
            self.report.notes.append(
                f"{self.where} (rule {self.name}) updates existing {self.module} records and "
                f"creates none, so the mandatory fields of {self.module} ({', '.join(mandatory)}) "
                "need not be mapped")

    def meta(self, where: str, api_name: str) -> Mapping[str, Any] | None:
        """The field's metadata, or None after saying it does not exist."""
        meta = self.fields.get(api_name)
        if meta is None:
            close = difflib.get_close_matches(api_name, sorted(self.fields), n=1)
            hint = (f"did you mean {close[0]!r}?" if close
                    else "check the API name in Zoho's field settings")
            self.problem(where, f"{self.module} has no field {api_name!r} "
                         f"(rule {self.name}); {hint}")
        return meta

    def check_locator(self, record: Any) -> None:
        if not isinstance(record, dict) or len(record) != 1:
            return
        ((kind, body),) = record.items()
        if kind not in ("external", "search") or not isinstance(body, dict):
            return
        api_name = body.get("field")
        if not isinstance(api_name, str):
            return
        meta = self.meta(f"{self.where}.record.{kind}.field", api_name)
        if meta is not None and kind == "external" and not meta.get("external"):
            self.problem(f"{self.where}.record.external.field",
                         f"{self.module}.{api_name} is not an External ID field (rule "
                         f"{self.name}); mark it External in Zoho, or find the record with "
                         '{"search": {"field": ..., "value": ...}}')

    def check_field(self, api_name: str, spec: Any) -> None:
        where = f"{self.where}.fields.{api_name}"
        meta = self.meta(where, api_name)
        if meta is None or not isinstance(spec, dict):
            return
        data_type = str(meta.get("data_type", ""))
        label = f"{self.module}.{api_name}"
        read_only = _read_only(meta)
        if read_only:
            self.problem(where, f"{label} is {read_only} (rule {self.name}); remove it from "
                         "the rule")
            return
        kind = spec.get("type", "string")
        if kind in FIELD_TYPES and data_type not in FITS[kind]:
            wanted = TYPE_FOR.get(data_type)
            change = (f'set "type": "{wanted}"' if wanted
                      else "this adapter cannot write it; remove it from the rule")
            self.problem(where, f"{label} is {_article(data_type)} {data_type} field in Zoho, "
                         f"which type {kind!r} does not fill (rule {self.name}); {change}")
            return
        if spec.get("null") == "clear" and meta.get("system_mandatory"):
            self.problem(f"{where}.null", f"{label} is mandatory and Zoho refuses to clear it "
                         f'(rule {self.name}); use "null": "omit"')
        if data_type in ("picklist", "multiselectpicklist"):
            self.check_picklist(where, label, spec, meta, data_type == "multiselectpicklist")

    def check_picklist(self, where: str, label: str, spec: dict[str, Any],
                       meta: Mapping[str, Any], multi: bool) -> None:
        allowed = picklist_values(meta)
        produced: list[tuple[str, Any]] = []
        if "value" in spec:
            produced += [("value", v) for v in _items(spec["value"], multi, spec.get("split"))]
        if "default" in spec:
            produced += [("default", v) for v in _items(spec["default"], multi, spec.get("split"))]
        if isinstance(spec.get("map"), dict):
            for output in spec["map"].values():
                produced += [("map", v) for v in _items(output, multi, None)]
        for key, value in produced:
            if value is None or (isinstance(value, str) and value in allowed):
                continue
            self.problem(f"{where}.{key}", f"{value!r} is not a value of the picklist {label} "
                         f"(rule {self.name}); use one of {_listed(allowed)}")


def picklist_values(meta: Mapping[str, Any]) -> list[str]:
    """The values a picklist field takes (``actual_value`` of each value in use)."""
    values = meta.get("pick_list_values")
    return [str(v.get("actual_value")) for v in values if isinstance(v, dict)
            and v.get("type") != "unused"] if isinstance(values, list) else []


def planned_value_problem(meta: Mapping[str, Any], value: Any) -> str | None:
    """Why Zoho would refuse ``value`` for this field, in words without the value; or None."""
    data_type = str(meta.get("data_type", ""))
    read_only = _read_only(meta)
    if read_only:
        return f"is {read_only}"
    if value is None:
        return "is mandatory and Zoho refuses to clear it" if meta.get("system_mandatory") \
            else None
    length = meta.get("length") if isinstance(meta.get("length"), int) else None
    if data_type in _TEXT:
        if not isinstance(value, str):
            return f"takes text, not {_json_type(value)}"
        if length is not None and len(value) > length:
            return f"takes at most {length} characters, not {len(value)}"
        return None
    if data_type in ("picklist", "multiselectpicklist"):
        allowed = picklist_values(meta)
        items = value if data_type == "multiselectpicklist" and isinstance(value, list) else [value]
        if data_type == "multiselectpicklist" and not isinstance(value, list):
            return f"takes a list, not {_json_type(value)}"
        if any(not isinstance(item, str) or item not in allowed for item in items):
            return f"takes only its picklist's values: {_listed(allowed)}"
        return None
    return _number_or_other_problem(data_type, value, length)


def _number_or_other_problem(data_type: str, value: Any, length: int | None) -> str | None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if data_type in ("integer", "bigint"):
        digits_text = value if isinstance(value, str) and data_type == "bigint" else None
        if not (isinstance(value, int) and not isinstance(value, bool)) and not (
                digits_text is not None and digits_text.lstrip("-").isdigit()):
            return f"takes a whole number, not {_json_type(value)}"
        digits = len(str(abs(int(value))))
        limit = length or (9 if data_type == "integer" else 18)
        return f"takes at most {limit} digits, not {digits}" if digits > limit else None
    if data_type in ("double", "currency", "percent"):
        return None if is_number and math.isfinite(value) else \
            f"takes a number, not {_json_type(value)}"
    if data_type == "boolean":
        return None if isinstance(value, bool) else f"takes true or false, not {_json_type(value)}"
    if data_type == "date":
        return None if isinstance(value, str) and _DATE.match(value) else "takes yyyy-MM-dd"
    if data_type == "datetime":
        return None if isinstance(value, str) and _DATETIME.match(value) else \
            "takes yyyy-MM-ddTHH:mm:ss+HH:MM"
    if data_type in ("lookup", "ownerlookup"):
        ok = isinstance(value, dict) and isinstance(value.get("id"), str) and _ID.match(
            value["id"])
        return None if ok else 'takes {"id": "<record id>"}'
    return f"is a {data_type} field, which this adapter does not write"


def _read_only(meta: Mapping[str, Any]) -> str | None:
    """How the field is read-only through the API, or None when an update may set it."""
    data_type = str(meta.get("data_type", ""))
    if data_type in _COMPUTED:
        return _COMPUTED[data_type]
    operations = meta.get("operation_type")
    if meta.get("field_read_only") or meta.get("read_only") or (
            isinstance(operations, dict) and operations.get("api_update") is False):
        return "read-only through Zoho's API"
    return None


def _items(value: Any, multi: bool, split: Any) -> list[Any]:
    if multi and isinstance(value, list):
        return value
    if multi and isinstance(value, str) and isinstance(split, str) and split:
        return [item.strip() for item in value.split(split) if item.strip()]
    return [value]


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:_SHOWN_VALUES])
    more = len(values) - _SHOWN_VALUES
    return f"{shown} and {more} more" if more > 0 else shown or "(none)"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"
