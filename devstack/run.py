"""``make dev``: start the whole local stack, print how to use it, stop it on Ctrl-C.

Ports come from ZWA_API_PORT (8000), ZWA_AWS_PORT (5000) and ZWA_SANDBOX_PORT
(8810). With ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN (and
ZOHO_DC or ZOHO_ACCOUNTS_URL) set, the ``default`` connection is real Zoho and
the sandbox is not started.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from devstack.stack import (
    EXAMPLE_CONTACT_ID,
    EXAMPLE_SIGNING_SECRET,
    EXAMPLES,
    ROOT,
    LocalStack,
    Ports,
    zoho_from_environ,
)

EXAMPLE_EVENT = EXAMPLES / "events" / "example-contact-updated.json"


def example_curl(api_url: str, event: Path = EXAMPLE_EVENT) -> str:
    """A ready-to-paste curl that sends the example event, signed as the example source wants."""
    config = VerifyConfig(scheme="hmac", header="X-Signature", prefix="sha256=")
    signature = hmac_signature(config, EXAMPLE_SIGNING_SECRET.encode(), event.read_bytes())
    return (
        f"curl -i -X POST {api_url}/webhooks/example \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-Signature: {signature}' \\\n"
        f"  --data-binary @{event.relative_to(ROOT)}"
    )


def main() -> int:
    zoho = zoho_from_environ()
    # Two workers, as Lambda runs several containers (the local stage's
    # ZWA_WORKER_MAX_CONCURRENCY), each handling five messages of a batch at once.
    stack = LocalStack(ports=Ports.from_environ(), zoho=zoho,
                       app_output="terminal", workers=2)
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        print("starting the local stack (logs of the emulators in .devstack/logs/) ...",
              flush=True)
        stack.start()
        zoho_url = "real Zoho (from ZOHO_* variables)" if zoho else stack.sandbox_url
        print(f"\nzwa local stack ready: api {stack.api_url}  aws {stack.aws_url}  "
              f"zoho {zoho_url}", flush=True)
        print("\nSend the example webhook, signed with its stored secret:\n"
              f"  .venv/bin/zwa --stage local send example {EXAMPLE_EVENT.relative_to(ROOT)}")
        print("or the same request with curl:\n" + example_curl(stack.api_url))
        if zoho is None:
            print(f"\nThen see the record:\n  curl -s {stack.sandbox_url}/__sandbox/records/"
                  f"Contacts/{EXAMPLE_CONTACT_ID}")
        print("and the ledger:\n  .venv/bin/zwa --stage local deliveries show example evt_0001")
        print("\nCtrl-C stops everything.\n", flush=True)
        while not stopping.wait(0.5):
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with status {process.returncode}; stopping",
                          file=sys.stderr)
                    stopping.set()
        return 0
    except RuntimeError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping the local stack ...", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
