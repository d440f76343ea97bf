"""The console as a user starts it: ``zwa --stage local console`` in a process of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO

import requests

from devstack.stack import ROOT, LocalStack

URL = re.compile(r"open (http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+))")


@dataclass
class ConsoleProcess:
    """A running console: its process, the printed URL, and what it printed so far."""

    process: subprocess.Popen[str]
    url: str
    port: int
    token: str
    log: IO[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stop it as Ctrl-C does; returns everything it wrote to its log (stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.seek(0)
        return self.log.read()


def console_command(stack: LocalStack, port: int) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "ZWA_AWS_PORT": str(stack.ports.aws),
           "ZWA_API_PORT": str(stack.ports.api), "PYTHONUNBUFFERED": "1"}
    return [sys.executable, "-m", "zwa.main", "--stage", "local", "console",
            "--port", str(port)], env


def start_console(stack: LocalStack, port: int) -> ConsoleProcess:
    """Start the console and wait until it answers; fails with its output if it does not."""
    command, env = console_command(stack, port)
    log = tempfile.TemporaryFile("w+")  # read back when the console stops
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    match = URL.search(first)
    if match is None:
        process.kill()
        process.wait(timeout=10)
        log.seek(0)
        raise AssertionError(f"zwa console printed {first!r}; stderr: {log.read()}")
    console = ConsoleProcess(process, match.group(1), int(match.group(2)), match.group(3), log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(console.base + "/", timeout=2)
            return console
        except requests.ConnectionError:
            time.sleep(0.1)
    console.stop()
    raise AssertionError("zwa console did not answer within 20 s")
