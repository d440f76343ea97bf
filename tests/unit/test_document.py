import pytest

from chalicelib.errors import MappingDocumentError
from chalicelib.mapping.document import parse_mapping


def test_the_example_mapping_is_valid(example_mapping):
    document = parse_mapping(example_mapping, version=3)
    assert document.source == "example"
    assert document.version == 3
    assert [rule.name for rule in document.rules] == ["contact-updated"]
    assert document.verify.scheme == "hmac"


def test_every_problem_is_reported_at_once_with_where_it_is():
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping({
            "source": "bad source",
            "verify": {"scheme": "hmac"},
            "rules": [{
                "name": "r", "module": "Contacts", "record": {"id": "data.id"},
                "fields": {"Email": {"path": "data.[", "type": "emailish"}, "X": {}},
            }],
        })
    problems = caught.value.problems
    assert any(p.startswith("source:") for p in problems)
    assert any(p.startswith("verify.secret_id:") for p in problems)
    assert any(p.startswith("verify.header:") for p in problems)
    assert any(p.startswith("rules[0].fields.Email.type:") for p in problems)
    assert any(p.startswith("rules[0].fields.Email.path:") for p in problems)
    assert any(p.startswith("rules[0].fields.X:") for p in problems)


def test_features_of_later_versions_are_refused_not_ignored(example_mapping):
    example_mapping["rules"][0]["event_time"] = "created"
    with pytest.raises(MappingDocumentError, match="ordering guard"):
        parse_mapping(example_mapping)


def test_duplicate_rule_names_are_refused(example_mapping):
    example_mapping["rules"].append(dict(example_mapping["rules"][0]))
    with pytest.raises(MappingDocumentError, match="used twice"):
        parse_mapping(example_mapping)


def test_unknown_keys_are_refused_so_typos_do_not_pass(example_mapping):
    example_mapping["rules"][0]["feilds"] = {}
    with pytest.raises(MappingDocumentError, match="unknown key 'feilds'"):
        parse_mapping(example_mapping)
