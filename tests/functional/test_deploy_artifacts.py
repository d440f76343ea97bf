"""What a user deploys: ``chalice package`` for every stage, with and without infra/.

The real ``chalice package`` and ``cfn-lint`` run as subprocesses on a copy of
the project, once per (stage, merged) for the whole module, with no AWS
credentials. Packaging downloads the Lambda-platform wheels of
requirements.txt with pip, so it needs PyPI (or pip's find-links) once per run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib import observability
from tests.functional.test_package_bytecode import checked_against
from zwa.artifacts import RESOURCES_TEMPLATE, main, policy_stages
from zwa.bytecode import compile_bytecode
from zwa.resources import MAX_RECEIVE_COUNT, StageResources
from zwa.stage import load_stage

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ("dev", "prod")
DEPLOYED = ("app.py", "requirements.txt", "chalicelib", ".chalice/config.json",
            ".chalice/policy-dev.json", ".chalice/policy-prod.json", str(RESOURCES_TEMPLATE))
# What chalice says when pip could not download a requirement.
DOWNLOAD_FAILED = "Could not satisfy the requirement"
APP_METRICS = sorted(value for name, value in vars(observability).items()
                     if name.isupper() and isinstance(value, str) and name != "NAMESPACE")


@dataclass
class Packaged:
    stage: str
    merged: bool
    returncode: int
    output: str
    out: Path

    @property
    def template(self) -> dict[str, Any]:
        return json.loads((self.out / "sam.json").read_text())


def package_environment() -> dict[str, str]:
    """The caller's environment without AWS credentials or stage variables."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "ZWA_"))}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("project")
    for relative in DEPLOYED:
        source, target = ROOT / relative, copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    compile_bytecode(copy)  # as zwa deploy does, and the README's CloudFormation steps
    return copy


@pytest.fixture(scope="module")
def packaged(project) -> dict[tuple[str, bool], Packaged]:
    results: dict[tuple[str, bool], Packaged] = {}
    started = time.monotonic()
    failed: Packaged | None = None
    for stage in STAGES:
        for merged in (False, True):
            out = project / "out" / f"{stage}{'-merged' if merged else ''}"
            if failed is not None:  # the same download would fail again, as slowly
                results[stage, merged] = Packaged(stage, merged, failed.returncode,
                                                  f"not run: {failed.stage} failed first:\n"
                                                  + failed.output, out)
                continue
            command = [str(BIN / "chalice"), "package", "--stage", stage]
            if merged:
                command += ["--merge-template", str(RESOURCES_TEMPLATE)]
            # The first run downloads the wheels into the copy's .chalice/deployments
            # cache; the other three reuse them.
            done = subprocess.run([*command, str(out)], cwd=project, env=package_environment(),
                                  capture_output=True, text=True, timeout=600, check=False)
            results[stage, merged] = Packaged(stage, merged, done.returncode,
                                              done.stdout + done.stderr, out)
            if done.returncode != 0 and DOWNLOAD_FAILED in done.stdout + done.stderr:
                failed = results[stage, merged]
    print(f"chalice package x{len(results)}: {time.monotonic() - started:.1f} s")
    return results


def successful(packaged, stage: str, merged: bool) -> Packaged:
    result = packaged[stage, merged]
    hint = (" (it downloads requirements.txt's Lambda wheels with pip: is PyPI reachable?)"
            if DOWNLOAD_FAILED in result.output else "")
    assert result.returncode == 0, (
        f"chalice package --stage {stage} failed{hint}:\n{result.output[-3000:]}")
    return result


def resources_of(stage: str) -> StageResources:
    return load_stage(stage, ROOT).resources


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in template["Resources"].items()
            if resource.get("Type") == kind}


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for role in of_type(template, "AWS::IAM::Role").values():
        for policy in role["Properties"]["Policies"]:
            found += policy["PolicyDocument"]["Statement"]
    return found


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.mark.parametrize("merged", [False, True], ids=["chalice-only", "merged"])
@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_packages_into_a_template_and_a_zip(packaged, stage, merged):
    result = successful(packaged, stage, merged)
    assert (result.out / "sam.json").is_file()
    assert (result.out / "deployment.zip").is_file()


@pytest.mark.parametrize("stage", STAGES)
def test_the_zip_holds_the_app_and_its_runtime_packages_and_no_dev_tools(packaged, stage):
    names = zipfile.ZipFile(successful(packaged, stage, True).out / "deployment.zip").namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "aws_lambda_powertools", "chalice"} <= tops
    assert "chalicelib/delivery/worker.py" in names and "chalicelib/zoho/client.py" in names
    assert not tops & {"zwa", "devstack", "tests", "moto", "boto3", "pytest", "cfnlint"}
    # The runtime's urllib3 (botocore's) serves the worker; the CLI's requests stays out.
    assert not tops & {"requests", "urllib3", "certifi", "idna", "charset_normalizer"}
    assert not tops & {"werkzeug", "jinja2", "selenium"}  # the console's, not the functions'


@pytest.mark.parametrize("stage", STAGES)
def test_the_zip_carries_bytecode_that_a_cold_start_uses_instead_of_compiling(packaged, stage):
    archive = zipfile.ZipFile(successful(packaged, stage, True).out / "deployment.zip")
    names = set(archive.namelist())
    # Every module an import can find: not a wheel's scripts or metadata.
    sources = sorted(name for name in names if name.endswith(".py")
                     and not name.split("/")[0].endswith((".data", ".dist-info")))
    assert {"app.py", "chalicelib/delivery/worker.py", "chalice/app.py",
            "aws_lambda_powertools/logging/logger.py", "typing_extensions.py"} <= set(sources)
    without, stale = [], []
    for source in sources:
        cached = importlib.util.cache_from_source(source)
        if cached not in names:
            without.append(source)
            continue
        # Bytecode of other files than the ones Chalice downloaded would be ignored.
        if not checked_against(archive.read(cached), archive.read(source)):
            stale.append(source)
    assert without == [] and stale == []


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_passes_on_the_merged_template(packaged, stage):
    template = successful(packaged, stage, True).out / "sam.json"
    done = subprocess.run([str(BIN / "cfn-lint"), str(template)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_the_worker_reports_batch_item_failures_and_caps_concurrency(packaged, stage):
    template = successful(packaged, stage, True).template
    functions = of_type(template, "AWS::Serverless::Function")
    events = [event for function in functions.values()
              for event in function["Properties"].get("Events", {}).values()
              if event["Type"] == "SQS"]
    assert len(events) == 1
    event = events[0]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"] == {"MaximumConcurrency": resources_of(stage).max_concurrency}
    # The event source reads the queue this template creates, and only that one.
    assert list(event["Queue"]) == ["Fn::Sub"]
    queue_id = event["Queue"]["Fn::Sub"].removeprefix("${").removesuffix(".Arn}")
    queue = of_type(template, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["QueueName"] == resources_of(stage).queue("deliveries").name


@pytest.mark.parametrize("stage", STAGES)
def test_a_message_stays_hidden_longer_than_the_worker_runs_and_dead_letters_after_25(
        packaged, stage):
    template = successful(packaged, stage, True).template
    worker = next(function for function in
                  of_type(template, "AWS::Serverless::Function").values()
                  if function["Properties"].get("Events"))
    queues = of_type(template, "AWS::SQS::Queue")
    deliveries = next(queue["Properties"] for queue in queues.values()
                      if "RedrivePolicy" in queue["Properties"])
    assert deliveries["VisibilityTimeout"] >= 6 * worker["Properties"]["Timeout"]
    target = deliveries["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"]
    assert deliveries["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT == 25
    assert queues[target[0]]["Properties"]["QueueName"] == resources_of(stage).queue(
        "dead_letters").name
    assert {q["Properties"]["QueueName"] for q in queues.values()} == {
        q.name for q in resources_of(stage).queues}


@pytest.mark.parametrize("stage", STAGES)
def test_the_tables_expire_ledger_items_keep_backups_and_survive_the_stack(packaged, stage):
    tables = of_type(successful(packaged, stage, True).template, "AWS::DynamoDB::Table")
    by_name = {table["Properties"]["TableName"]: table for table in tables.values()}
    expected = resources_of(stage)
    assert set(by_name) == {table.name for table in expected.tables}
    for spec in expected.tables:
        table = by_name[spec.name]
        properties = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True}
        assert [(k["AttributeName"], k["KeyType"]) for k in properties["KeySchema"]] == [
            (name, kind) for (name, _), kind in zip(spec.key, ("HASH", "RANGE"), strict=False)]
    ledger = by_name[expected.table("deliveries").name]["Properties"]
    assert ledger["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize("stage", STAGES)
def test_four_alarms_tell_the_topic_about_dead_letters_failures_and_token_errors(
        packaged, stage):
    template = successful(packaged, stage, True).template
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    topics = of_type(template, "AWS::SNS::Topic")
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"])
               for a in alarms.values()}
    assert watched == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        (observability.NAMESPACE, observability.DELIVERIES_FAILED),
        (observability.NAMESPACE, observability.DELIVERIES_DEAD),
        (observability.NAMESPACE, observability.TOKEN_ERRORS),
    }
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["Threshold"] == 0 and properties["Period"] == 300
        assert properties["TreatMissingData"] == "notBreaching"
        assert [action["Ref"] for action in properties["AlarmActions"]] == list(topics)
        if properties["Namespace"] == observability.NAMESPACE:
            assert properties["Statistic"] == "Sum"
            assert properties["Dimensions"] == [{"Name": "service", "Value": "zwa"}]
        else:
            assert properties["Dimensions"][0]["Value"]["Fn::GetAtt"][1] == "QueueName"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": next(iter(topics))}


@pytest.mark.parametrize("stage", STAGES)
def test_the_dashboard_shows_every_app_metric_zoho_latency_and_both_queues(packaged, stage):
    template = successful(packaged, stage, True).template
    dashboards = list(of_type(template, "AWS::CloudWatch::Dashboard").values())
    assert len(dashboards) == 1
    body = json.loads(dashboards[0]["Properties"]["DashboardBody"]["Fn::Sub"])
    lines = [line for widget in body["widgets"] for line in widget["properties"]["metrics"]]
    app_metrics = {line[1] for line in lines if line[0] == observability.NAMESPACE}
    assert app_metrics == set(APP_METRICS)
    latency = {line[-1]["stat"] for line in lines if line[1] == observability.ZOHO_LATENCY}
    assert latency == {"p50", "p99"}
    depths = {line[3] for line in lines if line[:2] == ["AWS/SQS",
                                                        "ApproximateNumberOfMessagesVisible"]}
    assert depths == {queue.name for queue in resources_of(stage).queues}


@pytest.mark.parametrize("merged", [False, True], ids=["chalice-only", "merged"])
@pytest.mark.parametrize("stage", STAGES)
def test_the_functions_may_touch_only_the_stage_resources(packaged, stage, merged):
    template = successful(packaged, stage, merged).template
    roles = of_type(template, "AWS::IAM::Role")
    assert len(roles) == 2  # Chalice makes one role per function, each with the stage's policy
    found = statements(template)
    for statement in found:
        if "*" in as_list(statement["Resource"]):
            assert all(action.startswith(("logs:", "xray:")) for action in statement["Action"]), \
                statement
    named = {resource for statement in found for resource in as_list(statement["Resource"])}
    expected = resources_of(stage)
    for table in expected.tables:
        assert f"arn:aws:dynamodb:*:*:table/{table.name}" in named
    for queue in expected.queues:
        assert f"arn:aws:sqs:*:*:{queue.name}" in named
    assert f"arn:aws:secretsmanager:*:*:secret:{expected.secret_prefix}/*" in named
    assert not any(action.endswith("*") for s in found for action in s["Action"])


def test_the_committed_artifacts_are_what_the_generator_makes(capsys):
    assert main(["--check"]) == 0, capsys.readouterr().err


def test_every_deployable_stage_has_its_own_policy_file():
    assert policy_stages(ROOT) == {"dev": "policy-dev.json", "prod": "policy-prod.json"}


def test_a_stage_without_autogen_gets_the_policy_file_chalice_reads(tmp_path):
    (tmp_path / ".chalice").mkdir()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["staging"] = {"autogen_policy": False}
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))

    assert main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / ".chalice" / "policy-staging.json").read_text() == (
        ROOT / ".chalice" / "policy-prod.json").read_text()


def test_a_policy_file_chalice_would_ignore_is_refused(tmp_path, capsys):
    (tmp_path / ".chalice").mkdir()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    del config["stages"]["prod"]["autogen_policy"]
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))

    assert main(["--root", str(tmp_path)]) == 2
    assert "stage 'prod' names iam_policy_file but leaves autogen_policy on" in (
        capsys.readouterr().err)


def test_a_stale_artifact_is_named_and_fails_the_check(tmp_path, capsys):
    (tmp_path / ".chalice").mkdir()
    shutil.copy2(ROOT / ".chalice" / "config.json", tmp_path / ".chalice" / "config.json")
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0
    config = json.loads((tmp_path / ".chalice" / "config.json").read_text())
    config["environment_variables"]["ZWA_DEAD_LETTER_QUEUE"] = "zwa-dead-letters"
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    capsys.readouterr()

    assert main(["--root", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert ".chalice/policy-prod.json is out of date" in err
    assert "infra/resources.json is out of date" in err
    assert main(["--root", str(tmp_path)]) == 0
    assert "zwa-dead-letters" in (tmp_path / ".chalice" / "policy-dev.json").read_text()
    assert main(["--root", str(tmp_path), "--check"]) == 0


def test_stages_that_name_different_resources_are_refused(tmp_path, capsys):
    (tmp_path / ".chalice").mkdir()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"]["ZWA_DELIVERIES_TABLE"] = "prod-ledger"
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))

    assert main(["--root", str(tmp_path)]) == 2
    assert "one stage per AWS account and region" in capsys.readouterr().err
    assert not (tmp_path / "infra").exists()
