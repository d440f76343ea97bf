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
            "verify": {"scheme": "hmac", "secret_id": ""},
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


def test_event_time_and_if_unmodified_since_turn_the_ordering_guard_on(example_mapping):
    example_mapping["rules"][0].update(event_time="created", if_unmodified_since=True,
                                       skip_unchanged=False)
    rule = parse_mapping(example_mapping).rules[0]
    assert rule.event_time is not None and rule.event_time.text == "created"
    assert rule.if_unmodified_since is True
    assert rule.skip_unchanged is False


def test_a_rule_without_event_time_has_no_ordering_guard_and_saves_credits(example_mapping):
    del example_mapping["rules"][0]["event_time"]
    rule = parse_mapping(example_mapping).rules[0]
    assert rule.event_time is None
    assert rule.if_unmodified_since is False
    assert rule.skip_unchanged is True


def test_if_unmodified_since_without_event_time_is_refused(example_mapping):
    del example_mapping["rules"][0]["event_time"]
    example_mapping["rules"][0]["if_unmodified_since"] = True
    with pytest.raises(MappingDocumentError, match="if_unmodified_since: needs event_time"):
        parse_mapping(example_mapping)


def test_an_event_time_that_does_not_compile_is_named(example_mapping):
    example_mapping["rules"][0].update(event_time="created[", if_unmodified_since="yes")
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping(example_mapping)
    assert any(p.startswith("rules[0].event_time:") for p in caught.value.problems)
    assert "rules[0].if_unmodified_since: must be true or false" in caught.value.problems


def test_an_event_time_read_from_a_header_travels_with_the_delivery(example_mapping):
    example_mapping["rules"][0]["event_time"] = "header:X-Event-Time"
    assert "x-event-time" in parse_mapping(example_mapping).header_names


def test_duplicate_rule_names_are_refused(example_mapping):
    example_mapping["rules"].append(dict(example_mapping["rules"][0]))
    with pytest.raises(MappingDocumentError, match="used twice"):
        parse_mapping(example_mapping)


def test_unknown_keys_are_refused_so_typos_do_not_pass(example_mapping):
    example_mapping["rules"][0]["feilds"] = {}
    with pytest.raises(MappingDocumentError, match="unknown key 'feilds'"):
        parse_mapping(example_mapping)


def test_retry_attempts_above_the_queues_receive_count_are_refused(example_mapping):
    from chalicelib.mapping.document import QUEUE_MAX_RECEIVE_COUNT

    assert QUEUE_MAX_RECEIVE_COUNT == 25
    example_mapping["retry"] = {"max_attempts": 26}
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping(example_mapping)
    (problem,) = caught.value.problems
    assert problem.startswith("retry.max_attempts:")
    assert "25" in problem
    example_mapping["retry"] = {"max_attempts": 25}
    assert parse_mapping(example_mapping).retry.max_attempts == 25


def test_the_headers_a_mapping_reads_are_known_once_compiled():
    document = parse_mapping({
        "source": "s",
        "delivery_id": "header:X-Event-Id",
        "rules": [{
            "name": "r", "module": "Contacts", "when": "header:X-Topic",
            "record": {"external": {"field": "Ext_Id", "value": "header:X-Customer"}},
            "fields": {"Lead_Source": "header:X-Origin",
                       "Description": {"template": "{header:X-Shop} / {name}"},
                       "Email": "email"},
        }],
    })
    assert document.header_names == frozenset(
        {"x-event-id", "x-topic", "x-customer", "x-origin", "x-shop"})


def test_a_mapping_that_reads_no_header_forwards_none(example_mapping):
    assert parse_mapping(example_mapping).header_names == frozenset()


def test_a_mapping_may_not_read_credentials_or_its_own_signature_header(example_mapping):
    example_mapping["rules"][0]["fields"]["Description"] = "header:Authorization"
    example_mapping["rules"][0]["fields"]["Lead_Source"] = "header:X-Signature"
    with pytest.raises(MappingDocumentError) as caught:
        parse_mapping(example_mapping)
    problems = caught.value.problems
    assert any(p.startswith("rules[0].fields.Description.path:") and "credential" in p
               for p in problems)
    assert any(p.startswith("rules[0].fields.Lead_Source.path:") and "signature" in p
               for p in problems)


def test_a_signed_source_without_a_secret_id_reads_zwa_webhook_source(example_mapping):
    del example_mapping["verify"]["secret_id"]
    assert parse_mapping(example_mapping).verify.secret_id == "zwa/webhook/example"
    example_mapping["verify"] = {"scheme": "none"}
    assert parse_mapping(example_mapping).verify.secret_id is None
