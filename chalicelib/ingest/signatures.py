"""Signature checks over the raw body bytes, in constant time (pure: time is a parameter).

Schemes: ``none`` and ``hmac`` (generic: ``header``, ``algorithm`` sha1/sha256/
sha512, ``encoding`` hex/base64, ``prefix`` such as ``sha256=``, and optionally
``timestamp_header``: then the signed content is ``{timestamp}.{body}`` and the
timestamp, in epoch seconds, must be within ``tolerance_seconds`` of now).

A request passes if any of the source's keys verifies (during a rotation the
secret holds ``{"secrets": ["newest", "older"]}``). Errors never echo a header.
A well-formed, fresh signature that no key computes raises ``SignatureMismatchError``,
so that the caller can try once more with freshly read keys after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence

from chalicelib.errors import InvalidSignatureError
from chalicelib.mapping.document import VerifyConfig

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
# Epoch seconds have 10 digits until the year 2286; more digits are not a time.
_MAX_TIMESTAMP_DIGITS = 18


class SignatureMismatchError(InvalidSignatureError):
    """The signature header is present, well-formed and fresh, but no key computes it."""


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


def verify_signature(
    config: VerifyConfig,
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    raw_body: bytes,
    now: float,
) -> None:
    """Return if the request is authentic, else raise ``InvalidSignatureError``."""
    if config.scheme == "none":
        return
    if config.scheme == "hmac":
        _verify_hmac(config, keys, headers, raw_body, now)
        return
    raise InvalidSignatureError(f"signature scheme {config.scheme!r} is not supported")


def hmac_signature(config: VerifyConfig, key: bytes, raw_body: bytes, timestamp: str = "") -> str:
    """The header value a sender computes for ``raw_body`` (used by tests and the CLI)."""
    signed = f"{timestamp}.".encode() + raw_body if config.timestamp_header else raw_body
    digest = hmac.new(key, signed, _DIGESTS[config.algorithm]).digest()
    encoded = digest.hex() if config.encoding == "hex" else base64.b64encode(digest).decode()
    return f"{config.prefix}{encoded}"


def _verify_hmac(
    config: VerifyConfig,
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    raw_body: bytes,
    now: float,
) -> None:
    header = (config.header or "").lower()
    provided = headers.get(header)
    if not provided:
        raise InvalidSignatureError(f"the {config.header} header is missing")
    signed = raw_body
    if config.timestamp_header:
        timestamp = headers.get(config.timestamp_header.lower(), "")
        _check_timestamp(config, timestamp, now)
        signed = f"{timestamp}.".encode() + raw_body
    claimed = _decode(provided.strip(), config)
    algorithm = _DIGESTS[config.algorithm]
    matched = False
    for key in keys:
        expected = hmac.new(key, signed, algorithm).digest()
        # Every key is tried, so timing does not tell which one (if any) matched.
        matched |= hmac.compare_digest(expected, claimed)
    if not matched:
        raise SignatureMismatchError(f"the {config.header} signature does not match the body")


def _check_timestamp(config: VerifyConfig, timestamp: str, now: float) -> None:
    if not timestamp:
        raise InvalidSignatureError(f"the {config.timestamp_header} header is missing")
    # ASCII digits only: float() and int() also take 'NaN', '1_700_000_000', ' 17e8'
    # and other digit scripts, none of which a sender signs as epoch seconds.
    digits = timestamp.isascii() and timestamp.isdigit()
    if not digits or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise InvalidSignatureError(
            f"the {config.timestamp_header} header is not a timestamp (epoch seconds)"
        )
    if abs(now - int(timestamp)) > config.tolerance_seconds:
        raise InvalidSignatureError(
            f"the {config.timestamp_header} timestamp is outside the "
            f"{config.tolerance_seconds}s tolerance"
        )


def _decode(provided: str, config: VerifyConfig) -> bytes:
    if config.prefix:
        if not provided.startswith(config.prefix):
            raise InvalidSignatureError(
                f"the {config.header} header does not start with {config.prefix!r}"
            )
        provided = provided[len(config.prefix):]
    try:
        if config.encoding == "hex":
            return bytes.fromhex(provided)
        return base64.b64decode(provided, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise InvalidSignatureError(
            f"the {config.header} header is not {config.encoding}-encoded"
        ) from exc
