"""A stage's settings and AWS clients, read from ``.chalice/config.json`` (I/O).

The stage ``local`` talks to the emulator of the local stack
(``http://127.0.0.1:$ZWA_AWS_PORT``, default 5000) with dummy credentials;
any other stage uses the caller's usual AWS credentials and region.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from chalicelib.settings import Settings, load_settings
from zwa.resources import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_WORKER_TIMEOUT_SECONDS,
    WORKER_FUNCTION,
    StageResources,
    stage_resources,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 (the emulator's dummy key)
    "AWS_DEFAULT_REGION": "us-east-1",
}


def local_aws_endpoint() -> str:
    """The local AWS emulator's URL."""
    return f"http://127.0.0.1:{os.environ.get('ZWA_AWS_PORT', '5000')}"


def chalice_config(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The project's ``.chalice/config.json``."""
    config: dict[str, Any] = json.loads((root / ".chalice" / "config.json").read_text())
    return config


def stage_environment(stage: str, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The environment variables Chalice gives the functions of ``stage``."""
    config = chalice_config(root)
    if stage not in config.get("stages", {}):
        known = ", ".join(sorted(config.get("stages", {})))
        raise SystemExit(f"zwa: unknown stage {stage!r} (known: {known})")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    if stage == "local":
        env.update(LOCAL_AWS)
        env["AWS_ENDPOINT_URL"] = local_aws_endpoint()
    return env


def worker_timeout(stage: str, root: Path = PROJECT_ROOT) -> int:
    """The worker function's timeout in ``stage``, resolved as Chalice does."""
    config = chalice_config(root)
    stage_config = config.get("stages", {}).get(stage, {})
    for scope in (stage_config.get("lambda_functions", {}).get(WORKER_FUNCTION, {}),
                  stage_config, config.get("lambda_functions", {}).get(WORKER_FUNCTION, {}),
                  config):
        if "lambda_timeout" in scope:
            return int(scope["lambda_timeout"])
    return DEFAULT_WORKER_TIMEOUT_SECONDS


@dataclass
class Stage:
    """One stage: its settings, its resources and a way to make AWS clients for it."""

    name: str
    settings: Settings
    environment: dict[str, str]
    resources: StageResources

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in this stage."""
        kwargs: dict[str, Any] = {}
        if "AWS_ENDPOINT_URL" in self.environment:
            kwargs["endpoint_url"] = self.environment["AWS_ENDPOINT_URL"]
        for key, name in (("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
                          ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
                          ("region_name", "AWS_DEFAULT_REGION")):
            if name in self.environment:
                kwargs[key] = self.environment[name]
        return boto3.client(service, **kwargs)


def load_stage(name: str, root: Path = PROJECT_ROOT) -> Stage:
    """The stage called ``name``."""
    env = stage_environment(name, root)
    settings = load_settings(env)
    try:
        concurrency = int(env.get("ZWA_WORKER_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY))
    except ValueError as exc:
        raise SystemExit("zwa: ZWA_WORKER_MAX_CONCURRENCY must be a whole number") from exc
    resources = stage_resources(
        settings, worker_timeout_seconds=worker_timeout(name, root), max_concurrency=concurrency)
    return Stage(name=name, settings=settings, environment=env, resources=resources)
