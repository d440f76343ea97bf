"""Each example provider as the tests send it: its mapping, its sample events, how it signs.

Requests are signed with the same signers ``zwa send`` uses (the inverse of the
api's verifiers, themselves checked against the providers' published vectors),
over the exact bytes posted. Delivery ids are made fresh for each send, since
the ledger lives as long as the test session.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from chalicelib.ingest.signatures import scheme_keys, sign_request, signing_keys
from chalicelib.mapping.document import VerifyConfig, parse_mapping
from devstack.stack import EXAMPLES, LOCAL_SIGNING_SECRETS, LocalStack
from tests.conftest import ROOT

JOTFORM_TYPE = "multipart/form-data; boundary=------------------------5f1c2b9e8a7d6c4b"
# The Standard Webhooks sender of the tests (tests/events): whsec_ + base64 of its key.
STANDARD_SECRET = "whsec_bG9jYWwtc3RhbmRhcmQtd2ViaG9va3Mta2V5LTMyYnl0ZXM="  # noqa: S105


def mapping_of(source: str) -> dict[str, Any]:
    if source == "standard":
        return json.loads((ROOT / "tests/events/standard-webhooks-mapping.json").read_text())
    return json.loads((EXAMPLES / "mappings" / f"{source}.json").read_text())


def secret_of(source: str) -> str:
    return STANDARD_SECRET if source == "standard" else LOCAL_SIGNING_SECRETS[source]


def verify_config(source: str) -> VerifyConfig:
    return parse_mapping(mapping_of(source)).verify


@dataclass(frozen=True)
class Sample:
    """One sample event of a provider, and what it does to which sandbox record."""

    source: str
    event: str  # a file under examples/events (or tests/events)
    module: str
    record_id: str
    expected: dict[str, Any]
    content_type: str = "application/json"
    headers: Callable[[], dict[str, str]] = field(default=lambda: {})

    @property
    def raw(self) -> bytes:
        folder = ROOT / ("tests/events" if self.source == "standard" else "examples/events")
        return (folder / self.event).read_bytes()

    @property
    def id(self) -> str:
        return f"{self.source}:{self.event.rsplit('.', 1)[0]}"

    def fresh(self) -> bytes:
        """The sample with delivery ids no earlier send of the session used."""
        return freshen(self.source, self.raw)


def _github_headers() -> dict[str, str]:
    return {"X-GitHub-Event": "sponsorship", "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "512398761", "User-Agent": "GitHub-Hookshot/a1b2c3d"}


def _shopify_headers(topic: str) -> Callable[[], dict[str, str]]:
    def headers() -> dict[str, str]:
        return {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-07",
                "X-Shopify-Shop-Domain": "trailhead-outfitters-demo.myshopify.com"}
    return headers


def _standard_headers() -> dict[str, str]:
    return {"webhook-id": f"msg_{uuid.uuid4().hex}"}


STRIPE_CONTACT, SHOPIFY_CONTACT, JOTFORM_CONTACT = (
    "5725767000000524163", "5725767000000524169", "5725767000000524171")
SAMPLES = [
    Sample("example", "example-contact-updated.json", "Contacts", "5725767000000524157",
           {"Email": "ada@example.com", "Customer_Tier": "Gold", "Seats": 12}),
    Sample("stripe", "stripe-customer-updated.json", "Contacts", STRIPE_CONTACT,
           {"Email": "ada.lovelace@example.com", "Customer_Tier": "Gold", "Balance": -25,
            "Interests": ["Analytics", "Reporting"], "Mailing_City": "London"}),
    Sample("stripe", "stripe-invoice-paid.json", "Contacts", STRIPE_CONTACT,
           {"Last_Payment_At": "2026-11-27T11:59:50+00:00", "Delinquent": False,
            "Notes_Field": "Stripe invoice 0759376C-0002 paid"}),
    Sample("shopify", "shopify-orders-create.json", "Deals", "5725767000000900001",
           {"Amount": 403, "Payment_Status": "Paid", "Quantity": 2, "Order_Number": "#9999",
            "Billing_Contact_Email": "jon@example.com"},
           headers=_shopify_headers("orders/create")),
    Sample("shopify", "shopify-customers-update.json", "Contacts", SHOPIFY_CONTACT,
           {"Email": "bob@biller.com", "Mailing_City": "Ottawa", "Phone": "+16135551111"},
           headers=_shopify_headers("customers/update")),
    Sample("github", "github-sponsorship-created.json", "Leads", "5725767000000700011",
           {"Budget": 25, "Lead_Status": "Pre-Qualified", "Is_Qualified": True,
            "Website": "https://github.com/monalisa"}, headers=_github_headers),
    Sample("typeform", "typeform-form-response.json", "Leads", "5725767000000700101",
           {"Company": "Analytical Engines Ltd", "No_of_Employees": 42,
            "Products_Interested": ["CRM", "Analytics"], "Utm_Source": "newsletter",
            "Lead_Source": "Typeform", "First_Visit_Date": "2026-11-27"}),
    Sample("calendly", "calendly-invitee-created.json", "Leads", "5725767000000700201",
           {"Lead_Status": "Contacted", "Email": "grace.hopper@example.com",
            "Last_Activity_At": "2026-12-02T15:00:00+00:00"}),
    Sample("calendly", "calendly-invitee-canceled.json", "Leads", "5725767000000700201",
           {"Lead_Status": "Contact in Future",
            "Lead_Notes": "Canceled 30 Minute Demo: A clash with the board meeting"}),
    Sample("hubspot", "hubspot-contact-property-change.json", "Leads", "5725767000000700301",
           {"Email": "ada.lovelace@example.com", "Phone": "+44 20 7946 0018",
            "Lead_Status": "Contacted"}),
    Sample("jotform", "jotform-submission.multipart", "Contacts", JOTFORM_CONTACT,
           {"Title": "Chief Engineer", "Department": "Engineering",
            "Interests": ["Automation", "Integrations"], "Email": "charles.babbage@example.com"},
           content_type=JOTFORM_TYPE),
    Sample("standard", "standard-webhooks-contact-updated.json", "Contacts",
           "5725767000000524157", {"Email": "ada@standard.example.com"},
           headers=_standard_headers),
]
# One sample per signature scheme (Jotform signs nothing).
BY_SCHEME = {verify_config(s.source).scheme: s for s in reversed(SAMPLES)
             if verify_config(s.source).scheme != "none"}


def freshen(source: str, raw: bytes) -> bytes:
    """``raw`` with its body delivery ids made unique (header ids are made per send)."""
    tag = uuid.uuid4().hex[:12]
    if source == "jotform":
        return raw.replace(b"6084215389012345678", str(int(tag, 16) % 10**19).encode())
    body = json.loads(raw)
    if source in ("stripe", "example"):
        body["id"] = f"evt_{tag}"
    elif source == "typeform":
        body["event_id"] = tag
    elif source == "calendly":
        body["payload"]["uri"] += f"-{tag}"
    elif source == "hubspot":
        for event in body:
            event["subscriptionId"] = int(tag[:8], 16)
    return json.dumps(body).encode()


def sign(source: str, body: bytes, url: str, headers: dict[str, str], *,
         secret: str | None = None, at: float | None = None) -> dict[str, str]:
    """The signature headers the provider adds (none for Jotform)."""
    config = verify_config(source)
    if config.scheme == "none":
        return {}
    key = scheme_keys(config, signing_keys(secret or secret_of(source)))[0]
    return sign_request(config, key, body, time.time() if at is None else at, url=url,
                        headers=headers)


def post(stack: LocalStack, source: str, body: bytes, *, content_type: str = "application/json",
         headers: dict[str, str] | None = None, secret: str | None = None,
         at: float | None = None, signed_body: bytes | None = None) -> requests.Response:
    """POST ``body`` to the source, signed as its provider signs (``signed_body`` if given)."""
    url = f"{stack.api_url}/webhooks/{source}"
    sent = {"Content-Type": content_type, **(headers or {})}
    sent.update(sign(source, body if signed_body is None else signed_body, url, sent,
                     secret=secret, at=at))
    return requests.post(url, data=body, headers=sent, timeout=20)


def post_sample(stack: LocalStack, sample: Sample, body: bytes | None = None,
                **options: Any) -> requests.Response:
    return post(stack, sample.source, sample.fresh() if body is None else body,
                content_type=sample.content_type, headers=sample.headers(), **options)


def delivery_ids(response: requests.Response) -> list[str]:
    answer = response.json()
    return [d["delivery_id"] for d in answer.get("deliveries", [answer])]


def sandbox_record(sandbox: str, module: str, record_id: str) -> dict[str, Any]:
    response = requests.get(f"{sandbox}/__sandbox/records/{module}/{record_id}", timeout=10)
    response.raise_for_status()
    state = response.json()
    return dict(state.get("record", state.get("fields", state)))


def sandbox_puts(sandbox: str, module: str) -> list[dict[str, Any]]:
    """The PUTs on ``module`` the sandbox answered since its reset (token refusals left out)."""
    log = requests.get(f"{sandbox}/__sandbox/requests", timeout=10).json()
    entries = log.get("requests", log) if isinstance(log, dict) else log
    return [r for r in entries if r["method"] == "PUT" and f"/crm/v8/{module}/" in r["path"]
            and r["status"] != 401]
