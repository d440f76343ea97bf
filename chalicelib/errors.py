"""The adapter's errors, in one small tree.

Every error carries the context a person needs to act (a field, a path, a Zoho
code) and never a payload value, a token or a secret.

    AdapterError
    ├── IngestError                  a webhook request we refuse (api Lambda, 4xx)
    │   ├── UnknownSourceError           404 UNKNOWN_SOURCE
    │   ├── PayloadTooLargeError         413 PAYLOAD_TOO_LARGE
    │   ├── UnsupportedMediaTypeError    415 UNSUPPORTED_MEDIA_TYPE
    │   ├── InvalidSignatureError        401 INVALID_SIGNATURE
    │   └── MalformedPayloadError        400 MALFORMED_PAYLOAD
    ├── UnavailableError             a store or queue failed: nothing promised (503)
    ├── MappingDocumentError         a mapping document that cannot be saved or used
    ├── FieldMetadataUnavailableError Zoho's field metadata could not be read to check one
    ├── MappingError                 a payload the mapping cannot turn into an update
    │                                (permanent: names field, path, value type)
    ├── UnexpectedMappingError       mapping a field failed in a way nothing foresaw
    │                                (names rule, field and the error's type)
    ├── DeliveryError                the outcome of one attempt to apply a delivery
    │   ├── RetryableDeliveryError       try again later (network, 5xx, 429, throttle)
    │   │   └── SearchMissError              a search found no record yet: tried once more
    │   └── PermanentDeliveryError       never retried (Zoho rejection, mapping error)
    ├── RetryLaterError              the worker leaves a message on the queue for later
    └── SettingsError                the environment lacks a setting
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from chalicelib.values import frozen


class AdapterError(Exception):
    """Base of every error the adapter raises on purpose."""


class IngestError(AdapterError):
    """A webhook request refused for what the caller sent (a 4xx answer)."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSourceError(IngestError):
    """No enabled mapping exists for the source in the URL."""

    status = 404
    code = "UNKNOWN_SOURCE"


class PayloadTooLargeError(IngestError):
    """The body is larger than the source's ``max_body_bytes``."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(IngestError):
    """The content type is not JSON, form-urlencoded or multipart form."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class InvalidSignatureError(IngestError):
    """The signature is missing, wrong, or its timestamp is outside the tolerance."""

    status = 401
    code = "INVALID_SIGNATURE"


class MalformedPayloadError(IngestError):
    """The body does not parse for its content type, or has no readable delivery id."""

    status = 400
    code = "MALFORMED_PAYLOAD"


class UnavailableError(AdapterError):
    """DynamoDB, SQS or Secrets Manager failed; the caller should retry later."""

    status = 503
    code = "UNAVAILABLE"


class SettingsError(AdapterError):
    """A required setting is missing or malformed in the environment."""


class MappingDocumentError(AdapterError):
    """A mapping document is invalid; ``problems`` lists each issue found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class FieldMetadataUnavailableError(AdapterError):
    """Zoho's field metadata could not be read to check a mapping; names the connection."""


class MappingError(AdapterError):
    """A payload cannot be mapped: names the rule, field and path, never the value."""

    def __init__(
        self, message: str, *, rule: str = "", field: str = "", path: str = "", value_type: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        self.path = path
        self.value_type = value_type


class UnexpectedMappingError(AdapterError):
    """Mapping a field raised an error nothing foresaw: names its type, the rule and the field.

    Never the original message: a ``KeyError`` or a JMESPath error quotes values.
    """

    def __init__(self, error_type: str, *, rule: str, field: str) -> None:
        super().__init__(f"rule {rule!r}: {error_type} while mapping {field}")
        self.error_type = error_type
        self.rule = rule
        self.field = field


@frozen
class Failure:
    """What went wrong with one attempt, in the words a person can act on."""

    code: str
    message: str
    api_name: str | None = None
    expected_data_type: str | None = None
    http_status: int | None = None
    rule: str | None = None
    path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The failure as a ledger item attribute: only set keys, no values from payloads."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for key in ("api_name", "expected_data_type", "http_status", "rule", "path"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.details:
            out["details"] = self.details
        return out


class DeliveryError(AdapterError):
    """One attempt to apply a delivery did not succeed."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


class RetryableDeliveryError(DeliveryError):
    """The attempt may succeed later: network, timeout, 5xx, 429, token throttle."""


class SearchMissError(RetryableDeliveryError):
    """A search found no record; Zoho's index may lag a new one, so it is tried once more."""


class PermanentDeliveryError(DeliveryError):
    """The attempt can never succeed as it is: a Zoho rejection or a mapping error."""


class RetryLaterError(AdapterError):
    """The message stays on the queue and comes back after its visibility timeout."""
