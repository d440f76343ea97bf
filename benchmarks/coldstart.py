"""Cold start: what each Lambda function imports, timed against a bare ``import boto3``.

    .venv/bin/python -m benchmarks.coldstart            # median of 15 runs
    .venv/bin/python -m benchmarks.coldstart --runs 31 --json

Both functions deploy the same ``app.py`` and import what only they use on
their first call. So the script first finds what each function really loads: in
a fresh interpreter it runs the function's real handler (``app.app`` with a
signed webhook for the api, ``app.apply_deliveries`` with one SQS message for
the worker) with the real AWS clients pointed at a closed port on 127.0.0.1 (the
call fails at once, after every import it needed), and lists ``sys.modules``.
Then, in fresh interpreters taking turns, it times (in CPU time, which the other
loads of a shared machine disturb far less than wall time; a cold start's
imports wait on nothing else) ``import app`` plus the import of each module so
found, and a bare ``import boto3``; it prints the medians and
each function's ratio to boto3 (the goal: at most 1.25), the ten largest
imports of each (``-X importtime``, cumulative) and the deployment package's
size (``app.py``, ``chalicelib`` and the runtime requirements but boto3, which
the Lambda runtime brings). Figures depend on the machine; the run prints it.

Those figures are of modules already compiled to bytecode. A deployed function
is not so lucky: Lambda's code directory is read-only, so what the package holds
as source alone is compiled again on every cold start. So the script also lays
the package out as Lambda unzips it and times the same imports there with no
bytecode written (``python -B``): with the hash-checked bytecode ``zwa deploy``
adds for every module (``zwa/bytecode.py``), and without, as a bare ``chalice
deploy`` packages it. The goal holds there too: the script exits 1 when either
function is over it, in the project or as ``zwa deploy`` packages it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from zwa.bytecode import compile_sources, package_sources

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.25

_FIND = """
import json, sys
sys.path.insert(0, {root!r})
import app
event = {event}
if {function!r} == "api":
    app.app(event, None)
else:
    app.apply_deliveries(event, None)
print(json.dumps(sorted(sys.modules)))
"""

_API_EVENT = {
    "resource": "/webhooks/{source}", "path": "/webhooks/example", "httpMethod": "POST",
    "headers": {"Content-Type": "application/json", "X-Signature": "sha256=00"},
    "multiValueHeaders": None, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": {"source": "example"},
    "stageVariables": None, "body": '{"id": "1"}', "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/webhooks/{source}", "httpMethod": "POST",
                       "path": "/webhooks/example"},
}
_WORKER_EVENT = {"Records": [{
    "messageId": "m1", "receiptHandle": "r1",
    "body": json.dumps({"delivery_id": "d1", "source": "example", "received_at": 0,
                        "payload": {}}),
    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
    "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:zwa-deliveries",
    "awsRegion": "us-east-1",
}]}

_TIMED = """
import time
start = time.process_time()
{imports}
print(time.process_time() - start)
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def function_environment() -> dict[str, str]:
    """The functions' settings, with AWS clients that fail at once on a closed local port."""
    from zwa.stage import stage_environment

    env = dict(os.environ)
    env.update(stage_environment("local"))
    env.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
                "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
                "POWERTOOLS_METRICS_NAMESPACE": "bench", "PYTHONDONTWRITEBYTECODE": "0"})
    return env


def modules_loaded(function: str, env: dict[str, str]) -> list[str]:
    """The modules a fresh interpreter holds after ``function``'s handler ran once."""
    event = _API_EVENT if function == "api" else _WORKER_EVENT
    script = _FIND.format(root=str(ROOT), event=repr(event), function=function)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def import_lines(modules: list[str]) -> str:
    """``import app`` and then each other module found, each allowed to be unimportable."""
    baseline = set(_baseline_modules())
    lines = ["import importlib", "import app"]
    for name in modules:
        if name in baseline or name == "app" or name.startswith("__"):
            continue
        lines.append(f"try: importlib.import_module({name!r})\nexcept Exception: pass")
    return "\n".join(lines)


def _baseline_modules() -> list[str]:
    script = "import sys, json; print(json.dumps(list(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return list(json.loads(done.stdout))


def time_once(imports: str, env: dict[str, str], package: Path | None = None) -> float:
    """CPU time of ``imports`` in a fresh interpreter: in the project, or run from the
    unpacked ``package`` with no bytecode written, as on Lambda."""
    flags = ["-B"] if package is not None else []
    done = subprocess.run([sys.executable, *flags, "-c", _TIMED.format(imports=imports)],
                          cwd=package or ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def largest_imports(imports: str, env: dict[str, str], top: int = 10) -> list[tuple[str, float]]:
    """The ``top`` imports with the largest cumulative time (ms), top-level packages only."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", imports], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith("  ") or name.strip() in {"site", "encodings"}:
            continue  # only the imports made by the script itself, not at start-up
        rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:top]


def package_bytes() -> dict[str, int]:
    """Bytes of the deployment package's sources: the app's own files and each runtime
    requirement (its bytecode, ``zwa deploy``'s, comes on top)."""
    return {part: sum(path.stat().st_size for path, _ in files)
            for part, files in package_sources(ROOT).items()}


def unpacked_package(target: Path, *, bytecode: bool) -> None:
    """Lay out the deployment package in ``target`` as Lambda unzips it: sources only, as a
    bare ``chalice deploy`` packages them, or with the bytecode ``zwa deploy`` adds."""
    sources = [item for files in package_sources(ROOT).values() for item in files]
    for path, relative in sources:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
    if bytecode:
        compile_sources([item for item in sources if item[1].endswith(".py")], target)


def as_deployed(imports: dict[str, str], runs: int,
                env: dict[str, str]) -> tuple[dict[str, float], int]:
    """Median ms of the same imports as deployed, and the bytes of bytecode ``zwa deploy``
    adds. Lambda's code directory is read-only, so what the package does not carry as
    bytecode is compiled on every cold start. boto3 is the runtime's, compiled."""
    with tempfile.TemporaryDirectory() as plain, tempfile.TemporaryDirectory() as compiled:
        unpacked_package(Path(plain), bytecode=False)
        unpacked_package(Path(compiled), bytecode=True)
        cases = {"boto3": (imports["boto3"], Path(compiled)),
                 "api": (imports["api"], Path(compiled)),
                 "worker": (imports["worker"], Path(compiled)),
                 "worker, no bytecode (a bare chalice deploy)": (imports["worker"], Path(plain))}
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, (lines, package) in cases.items():
                samples[name].append(time_once(lines, env, package))
        bytecode = sum(path.stat().st_size for path in Path(compiled).rglob("*.pyc"))
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}, bytecode


def run(runs: int) -> dict[str, Any]:
    env = function_environment()
    imports = {function: import_lines(modules_loaded(function, env))
               for function in ("api", "worker")}
    imports["boto3"] = "import boto3"
    times: dict[str, list[float]] = {name: [] for name in imports}
    for _ in range(runs):
        for name, lines in imports.items():  # taking turns: the machine's load hits all alike
            times[name].append(time_once(lines, env))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    deployed, bytecode = as_deployed(imports, runs, env)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                   f"{platform.release()}, Python {platform.python_version()}",
        "runs": runs,
        "median_ms": medians,
        "ratio_to_boto3": {name: medians[name] / medians["boto3"] for name in ("api", "worker")},
        "largest_imports_ms": {name: largest_imports(imports[name], env)
                               for name in ("api", "worker")},
        "package_bytes": package_bytes(),
        "bytecode_bytes": bytecode,
        "deployed_ms": deployed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"cold start, CPU time, median of {result['runs']} fresh interpreters; "
          f"{result['machine']}")
    boto3_ms = result["median_ms"]["boto3"]
    print(f"  import boto3 (bare)      {boto3_ms:7.1f} ms   1.00x")
    worst = 0.0
    for name in ("api", "worker"):
        ratio = result["ratio_to_boto3"][name]
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= GOAL else f"over the {GOAL}x goal"
        print(f"  {name} function imports  {result['median_ms'][name]:7.1f} ms   "
              f"{ratio:4.2f}x  ({verdict})")
    for name in ("api", "worker"):
        top = ", ".join(f"{module} {ms:.0f}" for module, ms in result["largest_imports_ms"][name])
        print(f"  largest imports of the {name} (ms, cumulative): {top}")
    deployed = result["deployed_ms"]
    print("  as deployed (the package unzipped, no bytecode written, boto3 compiled as in the "
          "runtime): " + ", ".join(
              f"{name} {ms:.1f} ms ({ms / deployed['boto3']:.2f}x)"
              for name, ms in deployed.items()))
    # The goal holds as zwa deploy packages the functions, too.
    deployed_worst = max(deployed[name] / deployed["boto3"] for name in ("api", "worker"))
    worst = max(worst, deployed_worst)
    print(f"  as zwa deploy packages them, the slower function is at {deployed_worst:.2f}x ("
          + ("ok" if deployed_worst <= GOAL else f"over the {GOAL}x goal") + ")")
    sizes = result["package_bytes"]
    print(f"  deployment package: {sum(sizes.values()) / 1e6:.1f} MB of sources unzipped ("
          + ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sizes.items())
          + f"), and {result['bytecode_bytes'] / 1e6:.1f} MB of bytecode from zwa deploy")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
