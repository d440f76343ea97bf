"""The operator verbs on the real local stack: doctor, secrets, connections, deploy."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from devstack.stack import EXAMPLE_SECRET_ID, EXAMPLE_SIGNING_SECRET, LocalStack
from tests.integration.conftest import zwa
from zwa.bootstrap import bootstrap
from zwa.deploy import configure_event_source, deploy
from zwa.resources import event_source_settings, stage_resources
from zwa.stage import Stage

pytestmark = pytest.mark.integration
EVENT = b'{"id": "evt_ops_1", "type": "contact.deleted"}'


@pytest.fixture
def aws(stack: LocalStack) -> Stage:
    return stack.stage()


@pytest.fixture
def deploy_stage(aws: Stage, request: pytest.FixtureRequest) -> Iterator[Stage]:
    """A stage of its own queues: a Lambda event source on the stack's queue would take its
    messages away from the local worker."""
    suffix = request.node.name[-12:].replace("_", "-")
    settings = replace(aws.settings, deliveries_queue=f"zwa-test-{suffix}",
                       dead_letter_queue=f"zwa-test-{suffix}-dlq")
    stage = Stage(name="dev", settings=settings, environment=aws.environment,
                  resources=stage_resources(settings))
    bootstrap(stage.resources, stage.client("dynamodb"), stage.client("sqs"), say=lambda _: None)
    yield stage
    lam = stage.client("lambda")
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        if mapping["EventSourceArn"] == _queue_arn(stage):
            lam.delete_event_source_mapping(UUID=mapping["UUID"])


@pytest.fixture
def example_secret_restored(aws: Stage) -> Iterator[None]:
    yield
    aws.client("secretsmanager").put_secret_value(
        SecretId=EXAMPLE_SECRET_ID, SecretString=EXAMPLE_SIGNING_SECRET)


def test_doctor_passes_every_check_on_a_healthy_stack(stack):
    result = zwa(stack, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok") for line in lines[:-1]), result.stdout
    assert any("queue zwa-deliveries: " in line and "redrive to zwa-deliveries-dlq after 25"
               in line for line in lines)
    assert any("TTL on expires_at" in line for line in lines)
    assert any(line.startswith("ok    connection default") and "org Sandbox Org" in line
               for line in lines)
    assert lines[-1].endswith("checks passed")


def test_doctor_fails_and_says_what_to_run_when_the_redrive_is_gone(stack, aws):
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.settings.deliveries_queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    try:
        result = zwa(stack, "doctor")
        assert result.returncode == 1
        failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
        assert failing == [
            "FAIL  queue zwa-deliveries: no redrive policy to zwa-deliveries-dlq: a message "
            "failing forever would never leave the queue -> run: zwa --stage local bootstrap"]
    finally:
        assert zwa(stack, "bootstrap").returncode == 0
    assert zwa(stack, "doctor").returncode == 0


def test_doctor_fails_on_a_missing_signing_secret_and_names_the_fix(
        stack, aws, example_secret_restored):
    aws.client("secretsmanager").delete_secret(
        SecretId=EXAMPLE_SECRET_ID, ForceDeleteWithoutRecovery=True)
    result = zwa(stack, "doctor", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    [failed] = [check for check in report["checks"] if not check["ok"]]
    assert failed["name"] == "source example"
    assert "zwa/webhook/example does not exist" in failed["detail"]
    assert failed["fix"] == "run: zwa --stage local webhook-secret set example"
    stored = zwa(stack, "webhook-secret", "set", "example", stdin=EXAMPLE_SIGNING_SECRET + "\n")
    assert stored.returncode == 0, stored.stderr
    assert zwa(stack, "doctor").returncode == 0


def _post(stack: LocalStack, key: str, body: bytes) -> requests.Response:
    config = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
    return requests.post(f"{stack.api_url}/webhooks/example", data=body, timeout=15, headers={
        "Content-Type": "application/json",
        "X-Signature": hmac_signature(config, key.encode(), body)})


def test_webhook_secret_set_stores_where_the_mapping_looks_and_add_keeps_the_old_key(
        stack, aws, example_secret_restored):
    result = zwa(stack, "webhook-secret", "set", "example", "--add", stdin="rotated-key\n")
    assert result.returncode == 0, result.stderr
    assert "stored in zwa/webhook/example" in result.stdout
    assert "2 keys, the new one first" in result.stdout
    stored = json.loads(aws.client("secretsmanager").get_secret_value(
        SecretId=EXAMPLE_SECRET_ID)["SecretString"])
    assert stored == {"secrets": ["rotated-key", EXAMPLE_SIGNING_SECRET]}
    # The api caches keys for a while; a rotation is tried against fresh keys.
    new = _post(stack, "rotated-key", b'{"id": "evt_rot_new", "type": "contact.deleted"}')
    old = _post(stack, EXAMPLE_SIGNING_SECRET, b'{"id": "evt_rot_old", "type": "contact.deleted"}')
    assert (new.status_code, old.status_code) == (200, 200), (new.text, old.text)
    assert zwa(stack, "webhook-secret", "set", "example", stdin="").returncode == 1


def test_connection_test_prints_the_api_domain_and_the_org(stack, sandbox):
    result = zwa(stack, "connection", "test", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "connection": "default", "api_domain": stack.sandbox_url,
        "org_id": "5725767000000000001", "org_name": "Sandbox Org"}


def test_connection_set_reads_secrets_from_stdin_and_refuses_plain_http_elsewhere(stack, aws):
    secrets = json.dumps({"client_secret": "sandbox-secret",
                          "refresh_token": "sandbox-refresh-token"})
    refused = zwa(stack, "connection", "set", "spare", "--client-id", "sandbox-client",
                  "--accounts-url", "http://accounts.example.com", stdin=secrets)
    assert refused.returncode == 1
    assert "must be https" in refused.stderr
    stored = zwa(stack, "connection", "set", "spare", "--client-id", "sandbox-client",
                 "--accounts-url", stack.sandbox_url, stdin=secrets)
    assert stored.returncode == 0, stored.stderr
    assert "sandbox-secret" not in stored.stdout + stored.stderr
    tested = zwa(stack, "connection", "test", "spare")
    assert tested.returncode == 0, tested.stderr
    assert f"api domain {stack.sandbox_url}" in tested.stdout


def _worker_function(aws: Stage, name: str) -> str:
    """A Lambda function and its SQS event source, as chalice deploy leaves them."""
    iam, lam = aws.client("iam"), aws.client("lambda")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]
    }))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    arn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                              Handler="app.handler", Code={"ZipFile": code.getvalue()})[
        "FunctionArn"]
    lam.create_event_source_mapping(EventSourceArn=_queue_arn(aws), FunctionName=arn, BatchSize=10)
    return arn


def _queue_arn(aws: Stage) -> str:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.settings.deliveries_queue)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"])


def _mapping_of(aws: Stage, function: str) -> dict[str, Any]:
    [mapping] = aws.client("lambda").list_event_source_mappings(FunctionName=function)[
        "EventSourceMappings"]
    return dict(mapping)


def test_the_event_source_step_sets_partial_batch_failures_and_the_cap_once(deploy_stage):
    aws = deploy_stage
    function = _worker_function(aws, "zwa-test-worker-a")
    assert _mapping_of(aws, function).get("FunctionResponseTypes") in (None, [])
    said: list[str] = []
    changes = configure_event_source(aws.client("lambda"), function, _queue_arn(aws),
                                     aws.resources, said.append)
    assert len(changes) == 2
    mapping = _mapping_of(aws, function)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": aws.resources.max_concurrency}
    again: list[str] = []
    assert configure_event_source(aws.client("lambda"), function, _queue_arn(aws),
                                  aws.resources, again.append) == []
    assert "already set" in again[0]


def test_deploy_bootstraps_runs_chalice_then_fixes_the_event_source(deploy_stage, tmp_path):
    aws = stage = deploy_stage
    (tmp_path / ".chalice" / "deployed").mkdir(parents=True)
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps({"app_name": "zwa-test"}))
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "module.py").write_text("VALUE = 1\n")
    seen: dict[str, Any] = {}

    def chalice_deploy(name: str, environment: dict[str, str], say: Any) -> None:
        # The package's bytecode is ready before Chalice zips chalicelib and vendor/.
        seen["bytecode"] = sorted(path.name for path in tmp_path.glob("chalicelib/__pycache__/*"))
        seen["vendor"] = sorted(path.relative_to(tmp_path / "vendor").as_posix()
                                for path in tmp_path.glob("vendor/**/*.pyc"))
        # What chalice deploy leaves behind: the functions and its record of them.
        seen["stage"], seen["queue"] = name, environment["ZWA_DELIVERIES_QUEUE"]
        arn = _worker_function(aws, "zwa-test-dev-apply_deliveries")
        (tmp_path / ".chalice" / "deployed" / "dev.json").write_text(json.dumps({
            "resources": [
                {"name": "apply_deliveries", "resource_type": "lambda_function",
                 "lambda_arn": arn},
                {"name": "rest_api", "resource_type": "rest_api",
                 "rest_api_url": "https://abc.execute-api.us-east-1.amazonaws.com/api/"}]}))

    said: list[str] = []
    deployed = deploy(stage, run_chalice=chalice_deploy, say=said.append, root=tmp_path)
    assert seen == {"stage": "dev", "queue": aws.settings.deliveries_queue,
                    "bytecode": [f"{name}.{sys.implementation.cache_tag}.pyc"
                                 for name in ("__init__", "module")],
                    # Chalice's runtime module, which Chalice packages with every app.
                    "vendor": [f"chalice/__pycache__/{name}.{sys.implementation.cache_tag}.pyc"
                               for name in ("__init__", "app")]}
    assert "bytecode for the package: 2 modules of chalicelib, 2 more under vendor/" in said
    mapping = _mapping_of(aws, deployed.worker_function)
    assert {key: mapping[key] for key in ("FunctionResponseTypes", "ScalingConfig")} == \
        event_source_settings(aws.resources)
    assert said[-1] == ("stage dev deployed: webhooks go to "
                        "https://abc.execute-api.us-east-1.amazonaws.com/api/webhooks/{source}")
    assert f"queue {aws.settings.deliveries_queue}: exists" in said
