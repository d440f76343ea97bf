"""Any payload through any example mapping: Zoho-valid values or a mapping error, nothing else.

Payloads are drawn at random, both shapeless and shaped along the paths each
example mapping reads, with values of every JSON type and text that looks like
numbers, dates, ids and picklist words. Every rule is planned whether or not its
``when`` matches, and then each of its fields alone with a valid record id, so
that one field that cannot be converted (a mapping error) hides no other field's
value. What is planned is judged by the Zoho sandbox's own validator against the
sandbox's metadata (an independent oracle), except where Zoho alone can judge:
the syntax of an email, phone or URL, the length of text taken as is, picklist
values passed through from the payload unmapped, and whether a lookup's or
owner's record exists. A mapping error must never quote the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import MappingError
from chalicelib.mapping.document import (
    MISSING,
    FieldSpec,
    MappingDocument,
    RecordLocator,
    Rule,
    parse_mapping,
)
from chalicelib.mapping.engine import matching_rules, plan_update
from chalicelib.mapping.expressions import ExpressionEvaluationError, compile_expression
from devstack.zoho_sandbox.schema import TEXT_LIKE, find_module
from devstack.zoho_sandbox.validation import check_value
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples/mappings").glob("*.json"))
SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
TEMPLATE_SLOT = re.compile(r"\{([^{}]+)\}")
LOOKALIKES = [
    "", " ", "0", "12", "-3", "12.50", "1e400", "1e-400", "9" * 25, "yes", "no", "true",
    "gold", "GOLD", "Silver", "none", "null", "2024-03-01", "2024-02-30", "03/01/2024",
    "2026-11-27T09:30:00Z", "2026-11-27T09:30:00.123456+05:30", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "1764331200", "1764331200000", "5725767000000524157",
    "57257670000005241570", "ada@example.com", "+44 20 7946 0958", "a,b,,c", "\u0000", "\ud7ff",
]
EDGE_NUMBERS = [
    0, 1, -1, 999_999_999, 1_000_000_000, 10**14, -(10**14), 10**15 + 1, 10**18, 2**63, 10**30,
    0.5, 99.999, 1e14, 1e16, -1e300, 5e-324, 1764331200, 1764331200000, 253402300800,
]
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(LOOKALIKES), st.sampled_from(EDGE_NUMBERS),
)
VALID_ID = RecordLocator(kind="id", value=compile_expression("'5725767000000524157'"))
JSON_VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6), inner, max_size=3), max_leaves=6)


def read_paths(raw: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The simple dotted paths and the headers a stored mapping reads."""
    texts: list[str] = []
    if isinstance(raw.get("delivery_id"), str):
        texts.append(raw["delivery_id"])
    for rule in raw["rules"]:
        for body in rule["record"].values():
            texts.append(body if isinstance(body, str) else body["value"])
        for spec in rule["fields"].values():
            spec = {"path": spec} if isinstance(spec, str) else spec
            if "path" in spec:
                texts.append(spec["path"])
            if "template" in spec:
                texts.extend(TEMPLATE_SLOT.findall(spec["template"]))
    paths = [text.split(".") for text in texts if SIMPLE_PATH.match(text)]
    headers = [text[len("header:"):] for text in texts if text.startswith("header:")]
    return paths, headers


def shaped_payload(paths: list[list[str]]) -> st.SearchStrategy[Any]:
    """A payload holding a random value (or nothing) at each path the mapping reads."""
    def build(values: list[Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for path, value in zip(paths, values, strict=True):
            if value is MISSING:
                continue
            node = payload
            for key in path[:-1]:
                child = node.get(key)
                node = node.setdefault(key, {}) if child is None or isinstance(child, dict) \
                    else {}
            node[path[-1]] = value
        return payload
    chosen = st.one_of(st.just(MISSING), JSON_VALUES)
    return st.lists(chosen, min_size=len(paths), max_size=len(paths)).map(build)


def fully_determined(spec: FieldSpec) -> bool:
    """Whether every value of a picklist field comes from the mapping itself."""
    return spec.constant is not MISSING or (
        spec.options.map is not None and spec.default is not MISSING)


def assert_zoho_valid(rule: Rule, body: dict[str, Any]) -> None:
    module = find_module(rule.module)
    assert module is not None, rule.module
    specs = {spec.api_name: spec for spec in rule.fields}
    (record,) = body["data"]
    for name, value in record.items():
        if name == "$append_values":
            assert value == {n: True for n, s in specs.items() if s.append and n in record}
            continue
        if name == "Layout":
            continue
        field, spec = module.get_field(name), specs[name]
        assert field is not None and not field.read_only, name
        if value is None:
            assert spec.null == "clear", name
            continue
        data_type = field.data_type
        if data_type in TEXT_LIKE:
            assert isinstance(value, str), name
            if spec.options.max_length and spec.options.truncate:
                assert len(value) <= spec.options.max_length
        elif data_type == "picklist" and not fully_determined(spec):
            assert isinstance(value, str), name
        elif data_type == "multiselectpicklist":
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
        elif data_type == "ownerlookup":
            assert isinstance(value, dict) and re.fullmatch(r"\d{1,19}", value["id"]), name
        else:
            try:
                check_value(field, value, 0, lambda module_name, record_id: "Some record")
            except Exception as exc:  # the sandbox's refusal, with Zoho's error in it
                raise AssertionError(f"{name} ({data_type}): {getattr(exc, 'error', exc)}") from exc


def _distinctive(leaf: str) -> bool:
    """Text no error message could hold by chance: long, or not only letters and spaces."""
    return len(leaf) >= 12 or (len(leaf) >= 6 and not re.fullmatch(r"[A-Za-z ]+", leaf))


def run(document: MappingDocument, payload: Any, headers: dict[str, str], raw_text: str) -> None:
    try:
        matching_rules(document, payload, headers)
    except ExpressionEvaluationError:
        pass  # the api answers 200 failed with MAPPING_ERROR naming the rule's when
    for rule in document.rules:
        alone = [replace(rule, record=VALID_ID, fields=(spec,)) for spec in rule.fields]
        for planned in (rule, *alone):
            try:
                plan = plan_update(planned, payload, headers)
            except MappingError as exc:
                text = json.dumps([exc.message, exc.field, exc.path, exc.value_type])
                for leaf in _text_leaves(payload):
                    # Short or plain-word text may be part of the message itself ("null",
                    # "date", "a numb" of "a number"): a leaf counts when it could not be.
                    if _distinctive(leaf) and leaf not in raw_text:
                        assert leaf not in text, "a mapping error quotes a value"
                continue
            assert plan.module == rule.module
            assert set(plan.body["data"][0]) <= {s.api_name for s in rule.fields} | {
                "$append_values", "Layout"}
            assert_zoho_valid(rule, plan.body)


def _text_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _text_leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _text_leaves(v)]
    return []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_random_payload_gives_zoho_valid_values_or_a_mapping_error(path, data):
    raw = json.loads(path.read_text())
    document = parse_mapping(raw)
    paths, header_names = read_paths(raw)
    payload = data.draw(st.one_of(shaped_payload(paths), JSON_VALUES), label="payload")
    headers = data.draw(st.fixed_dictionaries(
        {name.lower(): st.text(max_size=20) for name in header_names}), label="headers")
    run(document, payload, headers, path.read_text())
