"""Each example mapping with its sample payload: previewed, then delivered through the stack.

A row of ``EXAMPLES`` names the mapping, the sample payload, the headers it is
sent with (the signature is added by ``sign``, as the source's scheme wants),
and the record and fields expected. The preview runs against the sandbox's
field metadata, read over HTTP as ``zwa mapping preview`` reads Zoho's; the
delivery then goes through ``chalice local``, the queue and the worker, and the
sandbox's record must hold every value the preview planned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests

from chalicelib.mapping.preview import preview_payload
from devstack.stack import EXAMPLE_CONTACT_ID, ROOT, LocalStack
from tests.integration.conftest import final_status, sign
from tests.integration.previews import holds, sandbox_metadata

pytestmark = pytest.mark.integration


def signed_example(body: bytes) -> dict[str, str]:
    return {"X-Signature": sign(body)}


@dataclass(frozen=True)
class Example:
    """An example mapping, its sample payload, and what it must do."""

    mapping: str
    payload: str
    module: str
    record_id: str
    fields: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=lambda: {
        "Content-Type": "application/json"})
    sign: Callable[[bytes], dict[str, str]] = signed_example


EXAMPLES = [
    Example("examples/mappings/example.json", "examples/events/example-contact-updated.json",
            "Contacts", EXAMPLE_CONTACT_ID,
            ("Email", "First_Name", "Last_Name", "Phone", "Customer_Tier", "Seats", "Balance",
             "Delinquent", "Signup_Date", "Last_Payment_At", "Account_Name", "Notes_Field")),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.mapping.split("/")[-1])
def test_the_sample_payload_previews_cleanly_and_the_record_then_holds_its_values(
        stack: LocalStack, sandbox, ledger, example: Example):
    mapping = json.loads((ROOT / example.mapping).read_text())
    payload = (ROOT / example.payload).read_bytes()
    metadata, api_domain = sandbox_metadata(sandbox)

    preview = preview_payload(mapping, payload, example.headers, metadata, api_domain=api_domain)
    assert preview.ok, preview.to_dict()
    (put,) = preview.updates
    assert put.url == f"{api_domain}/crm/v8/{example.module}/{example.record_id}"
    planned = put.body["data"][0]
    assert set(example.fields) <= set(planned)

    answer = requests.post(f"{stack.api_url}/webhooks/{mapping['source']}", data=payload,
                           headers={**example.headers, **example.sign(payload)}, timeout=15)
    assert answer.status_code == 202, answer.text
    assert final_status(ledger, mapping["source"], str(preview.delivery_id)) == "applied"
    state = requests.get(f"{sandbox}/__sandbox/records/{example.module}/{example.record_id}",
                         timeout=10).json()["fields"]
    wrong = {name: (state.get(name), value) for name, value in planned.items()
             if name not in ("$append_values", "Layout") and not holds(state.get(name), value)}
    assert wrong == {}
