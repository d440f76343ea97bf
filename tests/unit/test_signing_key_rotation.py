"""A rotated signing secret takes effect at once, and forged signatures cannot flood the store."""

import pytest

from chalicelib.errors import InvalidSignatureError
from chalicelib.ingest.accept import IngestServices, WebhookRequest, accept_webhook
from chalicelib.ingest.signatures import hmac_signature
from chalicelib.mapping.document import VerifyConfig
from chalicelib.stores.ledger import InMemoryLedger
from chalicelib.stores.mappings import InMemoryMappingStore, MappingCache
from chalicelib.stores.queues import InMemoryQueue
from chalicelib.stores.secrets import SecretNotFoundError

NOW = 1_764_331_200.0
SECRET_ID = "zwa/webhook/shop"
CONFIG = VerifyConfig(scheme="hmac", secret_id=SECRET_ID, header="X-Sig", prefix="sha256=",
                      timestamp_header="X-Ts")
BODY = b'{"id": "evt_1"}'


class CachingSecretStore:
    """Secrets as Powertools serves them: from a cache, unless the read is forced."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.cache: dict[str, str] = {}
        self.fresh_reads = 0

    def get(self, secret_id: str, *, max_age: int = 300, force: bool = False) -> str:
        if secret_id != SECRET_ID:
            raise SecretNotFoundError(f"the secret {secret_id} does not exist")
        if force:
            self.fresh_reads += 1
        if force or secret_id not in self.cache:
            self.cache[secret_id] = self.value
        return self.cache[secret_id]

    def put(self, secret_id: str, value: str) -> None:
        self.value = value


def services(secrets: CachingSecretStore) -> IngestServices:
    mappings = InMemoryMappingStore()
    mappings.save({
        "source": "shop", "delivery_id": "id",
        "verify": {"scheme": "hmac", "secret_id": SECRET_ID, "header": "X-Sig",
                   "prefix": "sha256=", "timestamp_header": "X-Ts"},
        "rules": [{"name": "r", "module": "Contacts", "record": {"id": "id"},
                   "fields": {"Email": "e"}}],
    }, now=0)
    return IngestServices(mappings=MappingCache(mappings, ttl=60), secrets=secrets,
                          ledger=InMemoryLedger(), queue=InMemoryQueue())


def request(key: bytes, stamp: str = str(int(NOW)), **headers: str) -> WebhookRequest:
    signed = {"X-Sig": hmac_signature(CONFIG, key, BODY, stamp), "X-Ts": stamp, **headers}
    return WebhookRequest("shop", {k: v for k, v in signed.items() if v}, BODY)


def test_a_rotated_secret_takes_effect_at_once_not_when_the_cache_expires():
    secrets = CachingSecretStore("old-key")
    ingest = services(secrets)
    with pytest.raises(InvalidSignatureError):
        accept_webhook(request(b"forged"), ingest, NOW)  # warms the cache with the old key
    secrets.put(SECRET_ID, "new-key")
    accepted = accept_webhook(request(b"new-key"), ingest, NOW + 60)
    assert (accepted.http_status, accepted.status) == (202, "queued")


def test_a_forged_signature_is_checked_against_fresh_keys_once_then_refused():
    secrets = CachingSecretStore("the-key")
    with pytest.raises(InvalidSignatureError, match="does not match"):
        accept_webhook(request(b"forged"), services(secrets), NOW)
    assert secrets.fresh_reads == 1


def test_a_missing_signature_or_a_stale_timestamp_never_reads_the_secret_afresh():
    secrets = CachingSecretStore("the-key")
    ingest = services(secrets)
    with pytest.raises(InvalidSignatureError, match="missing"):
        accept_webhook(request(b"the-key", **{"X-Sig": ""}), ingest, NOW)
    with pytest.raises(InvalidSignatureError, match="tolerance"):
        accept_webhook(request(b"forged", stamp=str(int(NOW) - 3600)), ingest, NOW)
    with pytest.raises(InvalidSignatureError, match="not a timestamp"):
        accept_webhook(request(b"forged", stamp="NaN"), ingest, NOW)
    assert secrets.fresh_reads == 0


def test_a_burst_of_forged_signatures_reads_the_secret_afresh_once_per_interval():
    from chalicelib.ingest.accept import FRESH_KEYS_INTERVAL_SECONDS

    secrets = CachingSecretStore("the-key")
    ingest = services(secrets)
    for second in range(int(FRESH_KEYS_INTERVAL_SECONDS)):
        with pytest.raises(InvalidSignatureError):
            accept_webhook(request(b"forged", stamp=str(int(NOW))), ingest, NOW + second)
    assert secrets.fresh_reads == 1
    with pytest.raises(InvalidSignatureError):
        accept_webhook(request(b"forged"), ingest, NOW + FRESH_KEYS_INTERVAL_SECONDS)
    assert secrets.fresh_reads == 2
