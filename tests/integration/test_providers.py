"""Every provider's example over HTTP: signed as the provider signs, posted to ``chalice local``,
delivered through the stack, and the sandbox record holds the values; forgeries get 401."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from chalicelib.mapping.preview import preview_payload
from chalicelib.stores.mappings import DynamoMappingStore
from chalicelib.stores.secrets import SecretsManagerStore
from devstack.stack import LocalStack
from tests.integration.conftest import final_status, wait_for
from tests.integration.previews import holds, sandbox_metadata
from tests.integration.providers import (
    BY_SCHEME,
    SAMPLES,
    STANDARD_SECRET,
    Sample,
    delivery_ids,
    mapping_of,
    post,
    post_sample,
    sandbox_puts,
    sandbox_record,
    secret_of,
    verify_config,
)

pytestmark = pytest.mark.integration
TIMED = {"stripe", "calendly", "hubspot-v3", "standard-webhooks"}


@pytest.fixture(scope="module")
def providers(stack: LocalStack) -> LocalStack:
    """The stack with the tests' Standard Webhooks sender stored beside the examples."""
    stage = stack.stage()
    DynamoMappingStore(stage.client("dynamodb"), stage.settings.mappings_table).save(
        mapping_of("standard"), now=time.time())
    SecretsManagerStore(stage.client("secretsmanager")).put("zwa/webhook/standard",
                                                            STANDARD_SECRET)
    wait_for(lambda: requests.post(f"{stack.api_url}/webhooks/standard", data=b"{}",
                                   timeout=10).status_code != 404, timeout=15)
    return stack


@pytest.fixture
def rotated(providers: LocalStack) -> Iterator[dict[str, str]]:
    """Rotate a source's secret to a new key, keeping the old one; restored afterwards."""
    secrets = SecretsManagerStore(providers.stage().client("secretsmanager"))
    changed: dict[str, str] = {}
    yield changed
    for source in changed:
        secrets.put(verify_config(source).secret_id or "", secret_of(source))


def assert_refused(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "INVALID_SIGNATURE"


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_a_request_signed_as_the_provider_signs_previews_cleanly_then_is_applied(
        providers, sandbox, ledger, sample: Sample):
    body, headers = sample.fresh(), {"Content-Type": sample.content_type, **sample.headers()}
    metadata, api_domain = sandbox_metadata(sandbox)
    preview = preview_payload(mapping_of(sample.source), body, headers, metadata,
                              api_domain=api_domain)
    assert preview.ok, preview.to_dict()
    planned = [put for put in preview.updates
               if put.url.startswith(f"{api_domain}/crm/v8/{sample.module}/")]
    assert planned, [put.url for put in preview.updates]

    response = post(providers, sample.source, body, content_type=sample.content_type,
                    headers={k: v for k, v in headers.items() if k != "Content-Type"})
    assert response.status_code == 202, response.text
    for delivery_id in delivery_ids(response):
        assert final_status(ledger, sample.source, delivery_id) == "applied"
    record = sandbox_record(sandbox, sample.module, sample.record_id)
    assert {name: record.get(name) for name in sample.expected} == sample.expected
    last = planned[-1].body["data"][0]
    wrong = {name: (record.get(name), value) for name, value in last.items()
             if name not in ("$append_values", "Layout") and not holds(record.get(name), value)}
    assert wrong == {}


@pytest.mark.parametrize("scheme", sorted(BY_SCHEME))
def test_a_tampered_body_or_a_wrong_secret_is_refused_and_nothing_is_recorded(
        providers, ledger, scheme):
    sample = BY_SCHEME[scheme]
    body = sample.fresh()
    tampered = body.replace(b"e", b"E", 1)
    assert_refused(post_sample(providers, sample, tampered, signed_body=body))
    wrong = "whsec_d3JvbmcteWV0LXdlbGwtZm9ybWVkLWtleQ==" if scheme == "standard-webhooks" \
        else "not-the-providers-secret"
    response = post_sample(providers, sample, body, secret=wrong)
    assert_refused(response)
    assert "does not match" in response.json()["message"]
    # Nothing was recorded: the genuine request is still new.
    genuine = post_sample(providers, sample, body)
    assert genuine.status_code == 202, genuine.text
    for delivery_id in delivery_ids(genuine):
        assert final_status(ledger, sample.source, delivery_id) in ("applied", "failed")


@pytest.mark.parametrize("scheme", sorted(TIMED))
def test_a_signature_outside_the_timestamp_tolerance_is_refused(providers, scheme):
    sample = BY_SCHEME[scheme]
    tolerance = verify_config(sample.source).tolerance_seconds
    response = post_sample(providers, sample, at=time.time() - tolerance - 30)
    assert_refused(response)
    assert f"outside the {tolerance}s tolerance" in response.json()["message"]


@pytest.mark.parametrize("scheme", sorted(BY_SCHEME))
def test_during_a_rotation_a_request_signed_with_the_older_secret_is_accepted(
        providers, sandbox, ledger, rotated, scheme):
    sample = BY_SCHEME[scheme]
    older = secret_of(sample.source)
    newest = "whsec_cm90YXRlZC1uZXctc3RhbmRhcmQta2V5" if scheme == "standard-webhooks" \
        else "rotated-new-secret"
    rotated[sample.source] = newest
    SecretsManagerStore(providers.stage().client("secretsmanager")).put(
        verify_config(sample.source).secret_id or "", json.dumps({"secrets": [newest, older]}))
    # The newest key first: the api reads the rotated secret afresh (at most once per
    # 10 s per secret), so that the older key is then checked against what it read.
    newer = wait_for(lambda: _accepted(post_sample(providers, sample, secret=newest)), 15, 1)
    response = post_sample(providers, sample, secret=older)
    assert response.status_code == 202, response.text
    # A batch's deliveries for one record are handled at once, in either order, so one
    # whose body was the last applied to the record by an earlier test is 'unchanged'.
    for delivery_id in delivery_ids(newer):
        assert final_status(ledger, sample.source, delivery_id) in ("applied", "unchanged")
    # The same fields again: the credit saver sends nothing the record already holds.
    for delivery_id in delivery_ids(response):
        assert final_status(ledger, sample.source, delivery_id) in ("applied", "unchanged")


def _accepted(response: requests.Response) -> requests.Response | None:
    assert response.status_code in (202, 401), response.text
    return response if response.status_code == 202 else None


def test_a_hubspot_batch_of_three_events_is_three_deliveries_and_three_puts_then_duplicates(
        providers, sandbox, ledger):
    sample = next(s for s in SAMPLES if s.source == "hubspot")
    body = sample.fresh()
    first = post_sample(providers, sample, body)
    assert first.status_code == 202, first.text
    ids = delivery_ids(first)
    assert len(ids) == 3 and first.json()["status"] == "queued"
    assert [final_status(ledger, "hubspot", i) for i in ids] == ["applied"] * 3
    assert len(sandbox_puts(sandbox, "Leads")) == 3
    # HubSpot's retry: the same events, attemptNumber raised, signed anew.
    retry = json.dumps([{**event, "attemptNumber": 1} for event in json.loads(body)]).encode()
    again = post_sample(providers, sample, retry)
    assert again.status_code == 200, again.text
    assert again.json() == {"status": "duplicate", "deliveries": [
        {"delivery_id": i, "status": "duplicate"} for i in ids]}
    time.sleep(1.5)  # room for a PUT that should not happen
    assert len(sandbox_puts(sandbox, "Leads")) == 3


def _zwa_send(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZWA_AWS_PORT": str(stack.ports.aws),
           "ZWA_API_PORT": str(stack.ports.api)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "zwa.main", "--stage", "local", "send", *args],
        capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.mark.parametrize("source", ["stripe", "hubspot", "jotform"])
def test_zwa_send_signs_with_the_stored_secret_and_prints_the_answer(
        providers, sandbox, ledger, tmp_path, source):
    sample = next(s for s in SAMPLES if s.source == source)
    path = tmp_path / sample.event
    path.write_bytes(sample.fresh())
    args = [source, str(path)]
    if sample.content_type != "application/json":
        args += ["--header", f"Content-Type: {sample.content_type}"]
    result = _zwa_send(providers, *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    sent = json.loads(result.stdout)
    assert sent["status_code"] == 202
    answers = sent["answer"].get("deliveries", [sent["answer"]])
    for answer in answers:
        assert final_status(ledger, source, answer["delivery_id"]) == "applied"
    record = sandbox_record(sandbox, sample.module, sample.record_id)
    assert {name: record.get(name) for name in sample.expected} == sample.expected
    again = _zwa_send(providers, *args)
    assert again.returncode == 0
    assert again.stdout.startswith("200 {")
    assert '"status": "duplicate"' in again.stdout
