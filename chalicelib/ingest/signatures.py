"""A source's signing keys, and checking or making a signature under its scheme (pure).

The schemes themselves (``hmac`` and those named after providers) are in
``chalicelib.ingest.schemes``; this module is what the api and the CLI call:
``signing_keys`` reads a stored secret, ``verify_signature`` checks a request,
``sign_request`` signs one as the provider would (``zwa send`` and the tests).

A request passes if any of the source's keys verifies (during a rotation the
secret holds ``{"secrets": ["newest", "older"]}``). Errors never echo a header.
A well-formed, fresh signature that no key computes raises ``SignatureMismatchError``,
so that the caller can try once more with freshly read keys after a rotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from chalicelib.ingest.schemes import (
    SignatureMismatchError,
    SignedRequest,
    hmac_value,
    prepare_key,
    sign,
    verify,
)
from chalicelib.mapping.document import VerifyConfig

__all__ = [
    "SignatureMismatchError",
    "hmac_signature",
    "scheme_keys",
    "sign_request",
    "signing_keys",
    "verify_signature",
]


def signing_keys(secret_string: str) -> list[bytes]:
    """The signing keys in a secret: the string itself, or ``{"secrets": [...]}``.

    Surrounding whitespace is not part of a key (a secret pasted with its newline
    would never verify); ``ValueError`` when a key is empty or the JSON form is wrong.
    """
    text = secret_string.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return [text.encode("utf-8")]
        keys = document.get("secrets") if isinstance(document, dict) else None
        if isinstance(keys, list) and keys and all(isinstance(k, str) and k.strip() for k in keys):
            return [key.strip().encode("utf-8") for key in keys]
        raise ValueError('a signing secret in JSON must be {"secrets": ["newest", "older"]}')
    if not text:
        raise ValueError("the signing secret is empty")
    return [text.encode("utf-8")]


def scheme_keys(config: VerifyConfig, keys: Sequence[bytes]) -> list[bytes]:
    """The HMAC keys the scheme uses for these stored keys; ``ValueError`` if one cannot be."""
    return [prepare_key(config, key) for key in keys]


def verify_signature(
    config: VerifyConfig,
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    raw_body: bytes,
    now: float,
    *,
    method: str = "POST",
    url: str = "",
) -> None:
    """Return if the request is authentic, else raise ``InvalidSignatureError``.

    ``headers`` are keyed by lower-cased name; ``keys`` are prepared (``scheme_keys``);
    ``url`` is the full URL the provider called (only ``hubspot-v3`` signs it).
    """
    verify(config, keys, SignedRequest(headers, raw_body, method, url), now)


def sign_request(
    config: VerifyConfig,
    key: bytes,
    raw_body: bytes,
    now: float,
    *,
    method: str = "POST",
    url: str = "",
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers the source's provider adds when it signs ``raw_body`` with ``key`` at ``now``.

    ``key`` is prepared (``scheme_keys``); ``headers`` are the request's other headers
    (Standard Webhooks signs its ``webhook-id``).
    """
    lower = {name.lower(): value for name, value in (headers or {}).items()}
    return sign(config, key, SignedRequest(lower, raw_body, method, url), now)


def hmac_signature(config: VerifyConfig, key: bytes, raw_body: bytes, timestamp: str = "") -> str:
    """The header value a sender computes for ``raw_body`` under a generic ``hmac`` config."""
    return hmac_value(config, key, raw_body, timestamp)
