"""The deploy artefacts as pure functions of a stage's resources."""

import json
from dataclasses import replace

import pytest

from chalicelib.settings import Settings
from zwa.artifacts import ArtifactsError, iam_policy, merge_template, render
from zwa.resources import QueueSpec, TableSpec, stage_resources

SETTINGS = Settings(mappings_table="m", deliveries_table="d", deliveries_queue="q",
                    dead_letter_queue="q-dlq", secret_prefix="acme")


def granted(policy, resource):
    return {action for statement in policy["Statement"]
            if resource in ([statement["Resource"]] if isinstance(statement["Resource"], str)
                            else statement["Resource"])
            for action in statement["Action"]}


def test_a_table_added_to_the_resources_is_granted_and_created():
    base = stage_resources(SETTINGS)
    leases = TableSpec("token_leases", "zwa-token-leases", (("connection", "S"),),
                       ttl_attribute="lease_expires_at")
    resources = replace(base, tables=(*base.tables, leases))

    assert granted(iam_policy(resources), "arn:aws:dynamodb:*:*:table/zwa-token-leases") == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    table = merge_template(resources)["Resources"]["TokenLeasesTable"]
    assert table["Properties"]["TableName"] == "zwa-token-leases"
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "connection", "KeyType": "HASH"}]
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "lease_expires_at", "Enabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_a_queue_added_to_the_resources_is_granted_and_created():
    base = stage_resources(SETTINGS)
    archive = QueueSpec("archive", "zwa-archive", visibility_timeout=30, retention_seconds=60)
    resources = replace(base, queues=(*base.queues, archive))

    assert granted(iam_policy(resources), "arn:aws:sqs:*:*:zwa-archive") == {
        "sqs:GetQueueUrl", "sqs:SendMessage"}
    queue = merge_template(resources)["Resources"]["ArchiveQueue"]["Properties"]
    assert queue == {"QueueName": "zwa-archive", "VisibilityTimeout": 30,
                     "MessageRetentionPeriod": 60}


def test_the_mappings_are_only_read_and_the_ledger_never_deleted_from():
    policy = iam_policy(stage_resources(SETTINGS))
    assert granted(policy, "arn:aws:dynamodb:*:*:table/m") == {
        "dynamodb:GetItem", "dynamodb:Query"}
    assert granted(policy, "arn:aws:dynamodb:*:*:table/d") == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    assert granted(policy, "arn:aws:secretsmanager:*:*:secret:acme/*") == {
        "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret"}


def test_only_the_worker_queue_can_be_received_from():
    policy = iam_policy(stage_resources(SETTINGS))
    assert "sqs:ReceiveMessage" in granted(policy, "arn:aws:sqs:*:*:q")
    assert "sqs:ReceiveMessage" not in granted(policy, "arn:aws:sqs:*:*:q-dlq")


def test_the_worker_event_takes_the_created_queue_and_the_configured_concurrency():
    template = merge_template(stage_resources(SETTINGS, max_concurrency=25))
    event = template["Resources"]["ApplyDeliveries"]["Properties"]["Events"][
        "ApplyDeliveriesSqsEventSource"]["Properties"]
    assert event == {"Queue": {"Fn::Sub": "${DeliveriesQueue.Arn}"},
                     "FunctionResponseTypes": ["ReportBatchItemFailures"],
                     "ScalingConfig": {"MaximumConcurrency": 25}}


@pytest.mark.parametrize("concurrency", [0, 1, 1001])
def test_a_concurrency_lambda_would_refuse_is_refused(concurrency):
    with pytest.raises(ArtifactsError, match="ZWA_WORKER_MAX_CONCURRENCY"):
        merge_template(stage_resources(SETTINGS, max_concurrency=concurrency))


def test_the_queues_hide_a_message_six_times_the_worker_timeout():
    template = merge_template(stage_resources(SETTINGS, worker_timeout_seconds=120))
    for name in ("DeliveriesQueue", "DeadLettersQueue"):
        assert template["Resources"][name]["Properties"]["VisibilityTimeout"] == 720


def test_rendering_is_deterministic_sorted_and_ends_with_a_newline():
    resources = stage_resources(SETTINGS)
    first, second = render(merge_template(resources)), render(merge_template(resources))
    assert first == second
    assert first.endswith("}\n") and not first.endswith("\n\n")
    assert first == json.dumps(json.loads(first), sort_keys=True, indent=2) + "\n"
