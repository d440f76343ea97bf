"""The search API's query language: `criteria`, `email`, `phone` and `word`, parsed and matched.

Pure, no I/O. `criteria` is Zoho's `((Field:operator:value)and(Field:operator:value))`; `and` binds
tighter than `or`; `\\(`, `\\)`, `\\,` and `\\\\` escape inside a value. Operators: `equals`,
`not_equal`, `starts_with`, `in`. As Zoho documents, `equals` on a non-picklist text field
behaves like *contains* (case-insensitive: `ABC` matches `ABC Inc.`); on picklists, numbers,
booleans, dates and lookups (by id) it is an exact comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schema import TEXT_LIKE, FieldSpec, ModuleSpec

OPERATORS = ("equals", "not_equal", "starts_with", "in")
MAX_CONDITIONS = 10
Predicate = Callable[[dict[str, Any]], bool]
"""Takes a record as `StoredRecord.as_zoho()` shows it; True when the record matches."""


class SearchQueryError(Exception):
    """A criteria string Zoho would answer with INVALID_QUERY; `details` says what is wrong."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.details = {"reason": reason, **details}


@dataclass(frozen=True)
class _Condition:
    field: FieldSpec | None  # None: the record id
    operator: str
    values: tuple[str, ...]


class _CriteriaParser:
    def __init__(self, text: str, module: ModuleSpec) -> None:
        self.text = text
        self.module = module
        self.pos = 0
        self.conditions = 0

    def parse(self) -> Predicate:
        predicate = self._expression()
        self._skip_space()
        if self.pos != len(self.text):
            raise SearchQueryError("unexpected text after the criteria", position=self.pos)
        return predicate

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _expect(self, char: str) -> None:
        self._skip_space()
        if not self.text.startswith(char, self.pos):
            raise SearchQueryError(f"expected '{char}'", position=self.pos)
        self.pos += 1

    def _expression(self) -> Predicate:
        any_of: list[list[Predicate]] = [[self._group()]]
        while True:
            self._skip_space()
            rest = self.text[self.pos :].lower()
            if rest.startswith("and"):
                self.pos += 3
                any_of[-1].append(self._group())
            elif rest.startswith("or"):
                self.pos += 2
                any_of.append([self._group()])
            else:
                break
        return lambda record: any(all(p(record) for p in group) for group in any_of)

    def _group(self) -> Predicate:
        self._expect("(")
        self._skip_space()
        if self.text.startswith("(", self.pos):
            predicate = self._expression()
        else:
            predicate = _condition_predicate(self._condition())
        self._expect(")")
        return predicate

    def _condition(self) -> _Condition:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise SearchQueryError("more than 10 criteria", limit=MAX_CONDITIONS)
        name = self._until(":").strip()
        operator = self._until(":").strip().lower()
        values = self._values()
        if operator not in OPERATORS:
            raise SearchQueryError("invalid operator found", operator=operator, api_name=name)
        if name == "id":
            return _Condition(None, operator, values)
        spec = self.module.get_field(name)
        if spec is None:
            raise SearchQueryError("the field is not available for search", api_name=name)
        return _Condition(spec, operator, values)

    def _until(self, stop: str) -> str:
        end = self.text.find(stop, self.pos)
        closing = self.text.find(")", self.pos)
        if end < 0 or (0 <= closing < end):
            raise SearchQueryError("a criterion needs field:operator:value", position=self.pos)
        token = self.text[self.pos : end]
        self.pos = end + 1
        return token

    def _values(self) -> tuple[str, ...]:
        values: list[str] = []
        current: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                current.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == ")":
                break
            if char == ",":
                values.append("".join(current))
                current = []
            else:
                current.append(char)
            self.pos += 1
        values.append("".join(current))
        return tuple(values)


def parse_criteria(text: str, module: ModuleSpec) -> Predicate:
    """A predicate over records for a `criteria` string, or raise `SearchQueryError`."""
    return _CriteriaParser(text, module).parse()


def _condition_predicate(condition: _Condition) -> Predicate:
    spec = condition.field
    api_name = "id" if spec is None else spec.api_name
    # `in` lists values; for the others a comma is part of the value unless escaped.
    wanted = condition.values if condition.operator == "in" else (",".join(condition.values),)

    def predicate(record: dict[str, Any]) -> bool:
        value = record.get(api_name)
        if condition.operator == "starts_with":
            return any(_starts_with(value, w) for w in wanted)
        hit = any(_equals(spec, value, w) for w in wanted)
        return not hit if condition.operator == "not_equal" else hit

    return predicate


def _as_text(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(entry) for entry in value]
    if isinstance(value, dict):
        return [str(value.get("id", "")), str(value.get("name", ""))]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def _starts_with(value: Any, wanted: str) -> bool:
    prefix = wanted.casefold()
    return any(text.casefold().startswith(prefix) for text in _as_text(value))


def _equals(spec: FieldSpec | None, value: Any, wanted: str) -> bool:
    if value is None:
        return False
    if spec is None:
        return str(value) == wanted
    data_type = spec.data_type
    if data_type in TEXT_LIKE:
        return wanted.casefold() in str(value).casefold()
    if data_type in ("lookup", "ownerlookup"):
        return isinstance(value, dict) and str(value.get("id")) == wanted
    if data_type in ("integer", "double", "currency", "percent", "formula"):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return any(text.casefold() == wanted.casefold() for text in _as_text(value))


def email_predicate(module: ModuleSpec, email: str) -> Predicate:
    names = [spec.api_name for spec in module.fields if spec.data_type == "email"]
    wanted = email.strip().casefold()
    return lambda record: any(str(record.get(name) or "").casefold() == wanted for name in names)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phone_predicate(module: ModuleSpec, phone: str) -> Predicate:
    names = [spec.api_name for spec in module.fields if spec.data_type == "phone"]
    wanted = _digits(phone)
    return lambda record: (
        bool(wanted) and any(wanted in _digits(str(record.get(name) or "")) for name in names)
    )


def word_predicate(module: ModuleSpec, word: str) -> Predicate:
    names = [
        spec.api_name
        for spec in module.fields
        if spec.data_type in TEXT_LIKE or spec.data_type == "picklist"
    ]
    wanted = word.strip().casefold()
    return lambda record: (
        bool(wanted) and any(wanted in str(record.get(name) or "").casefold() for name in names)
    )
