"""The deploy artefacts, generated from the one description of a stage's resources.

``python -m zwa.artifacts`` writes, ``python -m zwa.artifacts --check`` says
which file is out of date and exits 1 (``make artifacts`` runs the writer):

- ``.chalice/policy-{stage}.json`` for every stage that names an
  ``iam_policy_file`` (with ``autogen_policy: false``): the IAM policy Chalice
  gives the api and the worker functions. Only the actions the functions use, on
  exactly the stage's tables, queues and secrets; a ``*`` resource only for
  CloudWatch Logs and X-Ray, which need one.
- ``infra/resources.json``, deep-merged by ``chalice package --merge-template``
  into the packaged template: the tables, the queues, the worker's SQS event
  settings, the alarms, their SNS topic and a dashboard.

The templates and policies are built by pure functions over ``StageResources``;
only ``write``/``check``/``main`` touch files. One stage per AWS account and
region is the supported layout: every deployable stage names the same tables
and queues, so one ``infra/resources.json`` serves them all, and a stage that
disagrees is refused here rather than deployed half-right.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib import observability as obs
from zwa.resources import (
    SECRET_ACTIONS,
    WORKER_FUNCTION,
    WORKER_QUEUE_ROLE,
    QueueSpec,
    StageResources,
    TableSpec,
    event_source_settings,
)
from zwa.stage import PROJECT_ROOT, chalice_config, load_stage

POLICY_VERSION = "2012-10-17"
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
RESOURCES_TEMPLATE = Path("infra") / "resources.json"
# Lambda accepts a maximum concurrency for an SQS event source in this range.
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1000
ALARM_PERIOD_SECONDS = 300
DASHBOARD_PERIOD_SECONDS = 300
METRIC_DIMENSION = ("service", "zwa")  # Powertools Metrics(service="zwa") adds it to every metric

# The logical ids Chalice gives the worker function and its SQS event in the
# packaged template, by its own naming rule: the merge must land on them.
WORKER_LOGICAL_ID = to_cfn_resource_name(WORKER_FUNCTION)
WORKER_EVENT_LOGICAL_ID = to_cfn_resource_name(f"{WORKER_FUNCTION}-sqs-event-source")
ALARM_TOPIC = "AlarmTopic"

# The alarms on the app's own metrics: (logical id, metric, what it means).
METRIC_ALARMS = (
    ("DeliveriesFailedAlarm", obs.DELIVERIES_FAILED,
     "A delivery failed permanently (mapping or Zoho data error) and went to the "
     "dead-letter queue: zwa deliveries list SOURCE --status failed says why."),
    ("DeliveriesDeadAlarm", obs.DELIVERIES_DEAD,
     "A delivery exhausted its retries and went to the dead-letter queue: "
     "zwa deliveries list SOURCE --status dead says what Zoho answered last."),
    ("TokenErrorsAlarm", obs.TOKEN_ERRORS,
     "Zoho refused or did not answer a token refresh: check the connection "
     "with zwa connection test NAME."),
)

# The dashboard's rows of app metrics: (title, metric names), summed per period.
METRIC_WIDGETS = (
    ("Webhooks (api)", (obs.WEBHOOKS_RECEIVED, obs.DELIVERIES_QUEUED, obs.DELIVERIES_DUPLICATE,
                        obs.DELIVERIES_IGNORED, obs.WEBHOOKS_REFUSED, obs.WEBHOOKS_UNAVAILABLE)),
    ("Deliveries (worker)", (obs.DELIVERIES_APPLIED, obs.DELIVERIES_UNCHANGED,
                             obs.DELIVERIES_STALE, obs.DELIVERIES_RETRIED,
                             obs.DELIVERIES_FAILED, obs.DELIVERIES_DEAD)),
    ("Zoho tokens", (obs.TOKEN_REFRESHES, obs.TOKEN_ERRORS)),
)


class ArtifactsError(Exception):
    """The configuration cannot be turned into deploy artefacts; the message says why."""


# --- pure: documents from resources -------------------------------------------------------


def table_arn(table: TableSpec) -> str:
    """The table's ARN in whichever region and account the stage is deployed to."""
    return f"arn:aws:dynamodb:*:*:table/{table.name}"


def queue_arn(queue: QueueSpec) -> str:
    """The queue's ARN in whichever region and account the stage is deployed to."""
    return f"arn:aws:sqs:*:*:{queue.name}"


def secret_arn(pattern: str) -> str:
    """Secrets named ``pattern`` (Secrets Manager appends a random suffix to each ARN)."""
    return f"arn:aws:secretsmanager:*:*:secret:{pattern}"


def iam_policy(resources: StageResources) -> dict[str, Any]:
    """The one IAM policy of the stage's api and worker functions."""
    statements: list[dict[str, Any]] = [
        _statement("Logs", LOG_ACTIONS, "*"),
        _statement("XRay", XRAY_ACTIONS, "*"),
    ]
    for table in resources.tables:
        statements.append(_statement(_logical_id(table.role, "Table"), table.actions,
                                     table_arn(table)))
    for queue in resources.queues:
        statements.append(_statement(_logical_id(queue.role, "Queue"), queue.actions,
                                     queue_arn(queue)))
    statements.append(_statement(
        "Secrets", SECRET_ACTIONS, [secret_arn(p) for p in resources.secret_patterns]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def merge_template(resources: StageResources) -> dict[str, Any]:
    """What ``chalice package --merge-template`` adds to, and overrides in, the template."""
    if not MIN_CONCURRENCY <= resources.max_concurrency <= MAX_CONCURRENCY:
        raise ArtifactsError(
            f"ZWA_WORKER_MAX_CONCURRENCY is {resources.max_concurrency}; Lambda accepts "
            f"{MIN_CONCURRENCY} to {MAX_CONCURRENCY} for an SQS event source")
    worker_queue = resources.queue(WORKER_QUEUE_ROLE)
    if worker_queue.visibility_timeout < resources.worker_timeout_seconds:
        raise ArtifactsError(
            f"the queue {worker_queue.name} hides a message for {worker_queue.visibility_timeout}"
            f" s, less than the worker's timeout of {resources.worker_timeout_seconds} s")
    template: dict[str, Any] = {"Resources": {}, "Outputs": {}}
    res: dict[str, Any] = template["Resources"]
    for table in resources.tables:
        res[_logical_id(table.role, "Table")] = _table(table)
    for queue in resources.queues:
        res[_logical_id(queue.role, "Queue")] = _queue(queue)
    res[WORKER_LOGICAL_ID] = {"Properties": {"Events": {WORKER_EVENT_LOGICAL_ID: {
        "Properties": {
            # Chalice writes the queue's ARN as an Fn::Sub of its name; the deep merge
            # cannot remove that key, so the override is an Fn::Sub too. It refers to
            # the queue created here, which CloudFormation then creates first.
            "Queue": {"Fn::Sub": f"${{{_logical_id(worker_queue.role, 'Queue')}.Arn}}"},
            # The same settings zwa deploy gives the event source Chalice makes.
            **event_source_settings(resources),
        }}}}}
    res[ALARM_TOPIC] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"DisplayName": "zoho-webhook-adapter alarms"},
    }
    dead_letters = _dead_letter_queue(resources)
    res["DeadLettersWaitingAlarm"] = _alarm(
        "dead-letters-waiting",
        f"Messages are waiting in the dead-letter queue {dead_letters.name}.",
        namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible", statistic="Maximum",
        dimensions=[{"Name": "QueueName",
                     "Value": {"Fn::GetAtt": [_logical_id(dead_letters.role, "Queue"),
                                              "QueueName"]}}])
    for logical_id, metric, description in METRIC_ALARMS:
        res[logical_id] = _alarm(
            _kebab(metric), description, namespace=obs.NAMESPACE, metric=metric,
            statistic="Sum",
            dimensions=[{"Name": METRIC_DIMENSION[0], "Value": METRIC_DIMENSION[1]}])
    res["Dashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
            "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(resources), sort_keys=True,
                                                    separators=(",", ":"))},
        },
    }
    template["Outputs"]["AlarmTopicArn"] = {
        "Description": "Subscribe to this SNS topic to be told when an alarm fires",
        "Value": {"Ref": ALARM_TOPIC},
    }
    return template


def dashboard_body(resources: StageResources) -> dict[str, Any]:
    """The CloudWatch dashboard, with ``${AWS::Region}`` left for Fn::Sub."""
    region = "${AWS::Region}"
    widgets: list[dict[str, Any]] = []

    def widget(title: str, metrics: list[list[Any]], stat: str) -> None:
        row, column = divmod(len(widgets), 2)
        widgets.append({
            "type": "metric", "width": 12, "height": 6, "x": 12 * column, "y": 6 * row,
            "properties": {"title": title, "region": region, "view": "timeSeries",
                           "stat": stat, "period": DASHBOARD_PERIOD_SECONDS, "metrics": metrics},
        })

    dimension = list(METRIC_DIMENSION)
    for title, names in METRIC_WIDGETS:
        widget(title, [[obs.NAMESPACE, name, *dimension] for name in names], "Sum")
    widget("Zoho CRM call latency (ms)", [
        [obs.NAMESPACE, obs.ZOHO_LATENCY, *dimension, {"stat": "p50", "label": "p50"}],
        [obs.NAMESPACE, obs.ZOHO_LATENCY, *dimension, {"stat": "p99", "label": "p99"}],
    ], "p50")
    deliveries = resources.queue(WORKER_QUEUE_ROLE)
    dead_letters = _dead_letter_queue(resources)
    widget("Queue depth", [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", deliveries.name,
         {"label": f"{deliveries.name} waiting"}],
        ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", deliveries.name,
         {"label": f"{deliveries.name} in flight or backing off"}],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dead_letters.name,
         {"label": f"{dead_letters.name} (dead letters)"}],
    ], "Maximum")
    return {"widgets": widgets}


def render(document: dict[str, Any]) -> str:
    """The file text of a document: sorted keys, 2-space indent, a final newline."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def _statement(sid: str, actions: Sequence[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resource}


def _logical_id(role: str, kind: str) -> str:
    return to_cfn_resource_name(role) + kind


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def _dead_letter_queue(resources: StageResources) -> QueueSpec:
    role = resources.queue(WORKER_QUEUE_ROLE).dead_letter_role
    if role is None:
        raise ArtifactsError(f"the queue {WORKER_QUEUE_ROLE!r} has no dead-letter queue")
    return resources.queue(role)


def _table(table: TableSpec) -> dict[str, Any]:
    key_types = ("HASH", "RANGE")
    properties: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind}
                                 for name, kind in table.key],
        "KeySchema": [{"AttributeName": name, "KeyType": key_type}
                      for (name, _), key_type in zip(table.key, key_types, strict=False)],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    if table.kms_encrypted:
        # Every DynamoDB table is encrypted at rest; payloads get the KMS key, whose use
        # CloudTrail records (the AWS-managed aws/dynamodb key: no key policy to keep).
        properties["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS"}
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": table.ttl_attribute, "Enabled": True}
    # The ledger and the mappings outlive the stack: deleting or replacing it must
    # never delete them.
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain", "Properties": properties}


def _queue(queue: QueueSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "QueueName": queue.name,
        "VisibilityTimeout": queue.visibility_timeout,
        "MessageRetentionPeriod": queue.retention_seconds,
    }
    if queue.dead_letter_role:
        properties["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [_logical_id(queue.dead_letter_role, "Queue"),
                                                   "Arn"]},
            "maxReceiveCount": queue.max_receive_count,
        }
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def _alarm(name: str, description: str, *, namespace: str, metric: str, statistic: str,
           dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": ALARM_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


# --- I/O: the files ------------------------------------------------------------------------


def policy_stages(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The deployable stages and their policy file names (``iam_policy_file``)."""
    config = chalice_config(root)
    stages: dict[str, str] = {}
    for name, stage in sorted(config.get("stages", {}).items()):
        policy_file = stage.get("iam_policy_file", config.get("iam_policy_file"))
        if stage.get("autogen_policy", config.get("autogen_policy", True)):
            if policy_file is not None:
                raise ArtifactsError(
                    f"stage {name!r} names iam_policy_file but leaves autogen_policy on: "
                    "Chalice would ignore the file")
            continue  # not deployed (local): Chalice's policy analyzer is never run for it
        # Without iam_policy_file, Chalice reads policy-{stage}.json.
        stages[name] = policy_file or f"policy-{name}.json"
    return stages


def artifacts(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Every generated file (relative to ``root``) and the text it should hold."""
    stages = policy_stages(root)
    if not stages:
        raise ArtifactsError("no stage in .chalice/config.json names an iam_policy_file")
    files: dict[Path, str] = {}
    templates: dict[str, str] = {}
    for name, policy_file in stages.items():
        resources = load_stage(name, root).resources
        files[Path(".chalice") / policy_file] = render(iam_policy(resources))
        templates[name] = render(merge_template(resources))
    if len(set(templates.values())) > 1:
        raise ArtifactsError(
            f"{RESOURCES_TEMPLATE} serves every stage, but the stages {', '.join(templates)} "
            "differ in their resources or worker settings: keep them in the top-level "
            "environment_variables of .chalice/config.json (one stage per AWS account and "
            "region)")
    files[RESOURCES_TEMPLATE] = next(iter(templates.values()))
    return files


def write(root: Path = PROJECT_ROOT) -> list[Path]:
    """Write the files that differ from what is generated; returns them."""
    written = []
    for relative, text in artifacts(root).items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(relative)
    return written


def stale(root: Path = PROJECT_ROOT) -> list[tuple[Path, str]]:
    """The files that are missing or differ from what is generated, with which it is."""
    found = []
    for relative, text in artifacts(root).items():
        path = root / relative
        if not path.exists():
            found.append((relative, "missing"))
        elif path.read_text() != text:
            found.append((relative, "out of date"))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Write the artefacts, or with ``--check`` say which are stale (exit 1)."""
    parser = argparse.ArgumentParser(
        prog="python -m zwa.artifacts", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file is missing or out of date")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the project directory")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale(args.root)
            for relative, what in problems:
                print(f"zwa.artifacts: {relative} is {what}; run 'make artifacts' and commit it",
                      file=sys.stderr)
            if not problems:
                print("zwa.artifacts: the deploy artefacts are up to date")
            return 1 if problems else 0
        written = write(args.root)
    except (ArtifactsError, ValueError, OSError) as exc:
        print(f"zwa.artifacts: {exc}", file=sys.stderr)
        return 2
    for relative in written:
        print(f"wrote {relative}")
    if not written:
        print("zwa.artifacts: the deploy artefacts are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
