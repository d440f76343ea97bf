"""The JSON Schema kept in schemas/: it accepts every example and refuses broken documents."""

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping import document as mapping_document
from chalicelib.mapping.document import parse_mapping
from chalicelib.mapping.transforms import FIELD_TYPES
from tests.conftest import ROOT
from zwa.mapping_schema import SCHEMA_PATH, mapping_schema

EXAMPLES = sorted((ROOT / "examples/mappings").glob("*.json"))


@pytest.fixture(scope="module")
def validator():
    schema = mapping_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_schema_is_the_file_kept_in_the_repo():
    assert SCHEMA_PATH == ROOT / "schemas" / "mapping.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_mapping_is_valid_for_the_schema(validator, path):
    assert list(validator.iter_errors(json.loads(path.read_text()))) == []


def broken(example, change):
    document = copy.deepcopy(example)
    change(document)
    return document


BROKEN = {
    "a typo in a field key": lambda d: d["rules"][0]["fields"].update(
        Seats={"pth": "data.seats", "type": "integer"}),
    "an unknown type": lambda d: d["rules"][0]["fields"]["Seats"].update(type="int"),
    "path and value both": lambda d: d["rules"][0]["fields"]["Seats"].update(value=3),
    "no rules": lambda d: d.update(rules=[]),
    "a rule without a module": lambda d: d["rules"][0].pop("module"),
    "an unknown locator": lambda d: d["rules"][0].update(record={"name": "data.x"}),
    "a search without a field": lambda d: d["rules"][0].update(
        record={"search": {"value": "data.email"}}),
    "an unknown trigger": lambda d: d["rules"][0].update(trigger=["workflows"]),
    "append without multiselect": lambda d: d["rules"][0]["fields"]["Seats"].update(
        append=True),
    "more attempts than the queue's receive count": lambda d: d["retry"].update(
        max_attempts=26),
    "a field name that is not an API name": lambda d: d["rules"][0]["fields"].update(
        {"Mailing City": "data.city"}),
    "an unknown top-level key": lambda d: d.update(sorce="x"),
    "null neither omit nor clear": lambda d: d["rules"][0]["fields"]["Seats"].update(
        null="skip"),
    "a source name with a space": lambda d: d.update(source="my source"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_document_is_refused_by_the_schema_and_by_a_save(
        validator, example_mapping, name):
    document = broken(example_mapping, BROKEN[name])
    assert list(validator.iter_errors(document)) != []
    with pytest.raises(MappingDocumentError):
        parse_mapping(document)


def schema_keys(node):
    return set(node["properties"])


def test_every_key_a_save_accepts_is_described_for_editors():
    schema = mapping_schema()
    defs = schema["$defs"]
    field_object = defs["field"]["oneOf"][1]
    assert mapping_document._DOCUMENT_KEYS <= schema_keys(schema)
    assert mapping_document._RULE_KEYS <= schema_keys(defs["rule"])
    assert mapping_document._FIELD_KEYS <= schema_keys(field_object)
    assert mapping_document._VERIFY_KEYS <= schema_keys(defs["verify"])
    assert set(field_object["properties"]["type"]["enum"]) == FIELD_TYPES
    assert mapping_document.SIGNATURE_SCHEMES <= set(defs["verify"]["properties"]["scheme"]["enum"])
