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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 (the emulator's dummy key)
    "AWS_DEFAULT_REGION": "us-east-1",
}


def local_aws_endpoint() -> str:
    """The local AWS emulator's URL."""
    return f"http://127.0.0.1:{os.environ.get('ZWA_AWS_PORT', '5000')}"


def stage_environment(stage: str, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The environment variables Chalice gives the functions of ``stage``."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    if stage not in config.get("stages", {}):
        known = ", ".join(sorted(config.get("stages", {})))
        raise SystemExit(f"zwa: unknown stage {stage!r} (known: {known})")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    if stage == "local":
        env.update(LOCAL_AWS)
        env["AWS_ENDPOINT_URL"] = local_aws_endpoint()
    return env


@dataclass
class Stage:
    """One stage: its settings and a way to make AWS clients for it."""

    name: str
    settings: Settings
    environment: dict[str, str]

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
    return Stage(name=name, settings=load_settings(env), environment=env)
