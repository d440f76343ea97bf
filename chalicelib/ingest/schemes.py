"""Every signature scheme, both ways: how a provider signs a request, and how we check it (pure).

Each scheme is a verifier and its inverse, a signer, built from the provider's own
documentation (see the README's section per provider):

- ``hmac``: generic; ``{timestamp}.{body}`` when ``timestamp_header`` is set.
- ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the body.
- ``shopify``: ``X-Shopify-Hmac-Sha256: <base64>`` over the body.
- ``typeform``: ``Typeform-Signature: sha256=<base64>`` over the body.
- ``stripe`` and ``calendly``: ``t=<seconds>,v1=<hex>[,v1=<hex>...]`` over ``{t}.{body}``.
- ``standard-webhooks``: ``webhook-signature: v1,<base64> [v1,<base64>...]`` over
  ``{webhook-id}.{webhook-timestamp}.{body}``, with the key base64-decoded from ``whsec_...``.
- ``hubspot-v3``: ``X-HubSpot-Signature-v3: <base64>`` over method, URL, body and
  ``X-HubSpot-Request-Timestamp`` (milliseconds), the URL with some escapes decoded.

All are HMAC-SHA256 except a generic ``hmac`` set to sha1 or sha512. Every key is
compared with every signature in constant time (timing tells neither which key
nor whether one matched). Errors name headers, never their values. A well-formed,
fresh signature that no key computes raises ``SignatureMismatchError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from chalicelib.errors import InvalidSignatureError
from chalicelib.mapping.document import VerifyConfig
from chalicelib.values import frozen

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
# Epoch seconds have 10 digits until the year 2286 (13 in milliseconds); more is not a time.
_MAX_TIMESTAMP_DIGITS = 18
# The body-only provider schemes are the generic one with the provider's header and encoding.
_BODY_ONLY = {
    "github": VerifyConfig(scheme="hmac", header="X-Hub-Signature-256", prefix="sha256="),
    "shopify": VerifyConfig(scheme="hmac", header="X-Shopify-Hmac-Sha256", encoding="base64"),
    "typeform": VerifyConfig(scheme="hmac", header="Typeform-Signature", prefix="sha256=",
                             encoding="base64"),
}
_T_V1_HEADERS = {"stripe": "Stripe-Signature", "calendly": "Calendly-Webhook-Signature"}
STANDARD_ID, STANDARD_TIMESTAMP, STANDARD_SIGNATURE = (
    "webhook-id", "webhook-timestamp", "webhook-signature")
HUBSPOT_SIGNATURE, HUBSPOT_TIMESTAMP = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
# HubSpot decodes these escapes in the URL before signing it (and only these).
_HUBSPOT_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$",
                    "27": "'", "28": "(", "29": ")", "2A": "*", "2C": ",", "3B": ";"}
_HUBSPOT_ESCAPE = re.compile("%(" + "|".join(_HUBSPOT_DECODED) + ")", re.IGNORECASE)


class SignatureMismatchError(InvalidSignatureError):
    """The signature header is present, well-formed and fresh, but no key computes it."""


@frozen
class SignedRequest:
    """What a signature covers: headers by lower-cased name, the raw body, method and URL."""

    headers: Mapping[str, str]
    body: bytes
    method: str = "POST"
    url: str = ""


Verifier = Callable[[VerifyConfig, Sequence[bytes], SignedRequest, float], None]
Signer = Callable[[VerifyConfig, bytes, SignedRequest, float], dict[str, str]]


def prepare_key(config: VerifyConfig, key: bytes) -> bytes:
    """The HMAC key a scheme uses for a stored key; ``ValueError`` when it cannot be one.

    Standard Webhooks secrets are ``whsec_`` + base64 and the key is the decoded bytes;
    every other scheme uses the stored text as is (Stripe's ``whsec_...`` included).
    """
    if config.scheme != "standard-webhooks":
        return key
    text = key.decode("utf-8", "replace").removeprefix("whsec_")
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from exc
    if not decoded:
        raise ValueError("a Standard Webhooks secret holds no key")
    return decoded


def verify(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
           now: float) -> None:
    """Return if ``request`` is authentic under ``config``, else raise ``InvalidSignatureError``."""
    if config.scheme == "none":
        return
    verifier = _VERIFIERS.get(config.scheme)
    if verifier is None:
        raise InvalidSignatureError(f"signature scheme {config.scheme!r} is not supported")
    verifier(config, keys, request, now)


def sign(config: VerifyConfig, key: bytes, request: SignedRequest, now: float) -> dict[str, str]:
    """The headers a provider adds to ``request`` when it signs it with ``key`` at ``now``.

    ``key`` is a prepared key (``prepare_key``); for Standard Webhooks the request's
    ``webhook-id`` header, which is signed too, must be set already.
    """
    if config.scheme == "none":
        return {}
    signer = _SIGNERS.get(config.scheme)
    if signer is None:
        raise ValueError(f"signature scheme {config.scheme!r} is not supported")
    return signer(config, key, request, now)


def hubspot_uri(url: str) -> str:
    """The URL as HubSpot signs it: ``%3A``, ``%2F``, ``%3F``... decoded, nothing else."""
    return _HUBSPOT_ESCAPE.sub(lambda match: _HUBSPOT_DECODED[match.group(1).upper()], url)


def rebuilt_url(headers: Mapping[str, str], path: str, query: str) -> str:
    """The URL a request was sent to: ``X-Forwarded-Proto`` (else http), ``Host``, path, query."""
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip() or "http"
    host = headers.get("host", "")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


# --- the generic hmac scheme, and the body-only providers built on it -----------------------


def _hmac_content(config: VerifyConfig, request: SignedRequest, timestamp: str) -> bytes:
    if config.timestamp_header:
        return f"{timestamp}.".encode() + request.body
    return request.body


def _verify_hmac(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
                 now: float) -> None:
    provided = _header(request, config.header or "")
    timestamp = ""
    if config.timestamp_header:
        timestamp = _header(request, config.timestamp_header)
        _check_time(timestamp, now, config.tolerance_seconds, f"{config.timestamp_header} header")
    claimed = _decode(_without_prefix(provided.strip(), config), config.encoding, config.header)
    content = _hmac_content(config, request, timestamp)
    _match(keys, [claimed], lambda key: hmac.new(key, content, _DIGESTS[config.algorithm]),
           config.header or "")


def hmac_value(config: VerifyConfig, key: bytes, body: bytes, timestamp: str = "") -> str:
    """The generic scheme's signature header value for ``body`` (signed at ``timestamp``)."""
    content = _hmac_content(config, SignedRequest({}, body), timestamp)
    digest = hmac.new(key, content, _DIGESTS[config.algorithm]).digest()
    return config.prefix + _encode(digest, config.encoding)


def _sign_hmac(config: VerifyConfig, key: bytes, request: SignedRequest,
               now: float) -> dict[str, str]:
    timestamp = str(int(now))
    headers = {str(config.header): hmac_value(config, key, request.body, timestamp)}
    if config.timestamp_header:
        headers[config.timestamp_header] = timestamp
    return headers


def _as_hmac(config: VerifyConfig) -> VerifyConfig:
    return replace(_BODY_ONLY[config.scheme], secret_id=config.secret_id)


def _verify_body_only(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
                      now: float) -> None:
    _verify_hmac(_as_hmac(config), keys, request, now)


def _sign_body_only(config: VerifyConfig, key: bytes, request: SignedRequest,
                    now: float) -> dict[str, str]:
    return _sign_hmac(_as_hmac(config), key, request, now)


# --- Stripe and Calendly: t=<seconds>,v1=<hex>[,v1=<hex>] over "{t}.{body}" -------------------


def _verify_t_v1(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
                 now: float) -> None:
    name = _T_V1_HEADERS[config.scheme]
    timestamp, signatures = "", []
    for item in _header(request, name).split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and not timestamp:
            timestamp = value.strip()
        elif key == "v1":  # v0 and other schemes are ignored, as the providers' libraries do
            signatures.append(value.strip())
    if not timestamp:
        raise InvalidSignatureError(f"the {name} header has no timestamp (t=)")
    if not signatures:
        raise InvalidSignatureError(f"the {name} header has no v1 signature")
    _check_time(timestamp, now, config.tolerance_seconds, f"{name} header's t=")
    claimed = _decoded_all(signatures, "hex", name)
    content = f"{timestamp}.".encode() + request.body
    _match(keys, claimed, lambda key: hmac.new(key, content, hashlib.sha256), name)


def _sign_t_v1(config: VerifyConfig, key: bytes, request: SignedRequest,
               now: float) -> dict[str, str]:
    timestamp = str(int(now))
    digest = hmac.new(key, f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    return {_T_V1_HEADERS[config.scheme]: f"t={timestamp},v1={digest}"}


# --- Standard Webhooks ----------------------------------------------------------------------


def _standard_content(message_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body


def _verify_standard(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
                     now: float) -> None:
    message_id = _header(request, STANDARD_ID)
    timestamp = _header(request, STANDARD_TIMESTAMP)
    entries = _header(request, STANDARD_SIGNATURE).split()
    _check_time(timestamp, now, config.tolerance_seconds, f"{STANDARD_TIMESTAMP} header")
    signatures = [value for version, _, value in (e.partition(",") for e in entries)
                  if version == "v1"]
    if not signatures:
        raise InvalidSignatureError(f"the {STANDARD_SIGNATURE} header has no v1 signature")
    claimed = _decoded_all(signatures, "base64", STANDARD_SIGNATURE)
    content = _standard_content(message_id, timestamp, request.body)
    _match(keys, claimed, lambda key: hmac.new(key, content, hashlib.sha256), STANDARD_SIGNATURE)


def _sign_standard(config: VerifyConfig, key: bytes, request: SignedRequest,
                   now: float) -> dict[str, str]:
    message_id = request.headers.get(STANDARD_ID, "")
    if not message_id:
        raise ValueError(f"a Standard Webhooks request needs its {STANDARD_ID} header")
    timestamp = str(int(now))
    digest = hmac.new(key, _standard_content(message_id, timestamp, request.body),
                      hashlib.sha256).digest()
    return {STANDARD_ID: message_id, STANDARD_TIMESTAMP: timestamp,
            STANDARD_SIGNATURE: "v1," + _encode(digest, "base64")}


# --- HubSpot v3 -----------------------------------------------------------------------------


def _hubspot_content(request: SignedRequest, timestamp: str) -> bytes:
    head = (request.method.upper() + hubspot_uri(request.url)).encode("utf-8", "surrogatepass")
    return head + request.body + timestamp.encode("ascii")


def _verify_hubspot(config: VerifyConfig, keys: Sequence[bytes], request: SignedRequest,
                    now: float) -> None:
    provided = _header(request, HUBSPOT_SIGNATURE)
    timestamp = _header(request, HUBSPOT_TIMESTAMP)
    _check_time(timestamp, now, config.tolerance_seconds, f"{HUBSPOT_TIMESTAMP} header",
                per_second=1000)
    claimed = _decode(provided.strip(), "base64", HUBSPOT_SIGNATURE)
    content = _hubspot_content(request, timestamp)
    _match(keys, [claimed], lambda key: hmac.new(key, content, hashlib.sha256), HUBSPOT_SIGNATURE)


def _sign_hubspot(config: VerifyConfig, key: bytes, request: SignedRequest,
                  now: float) -> dict[str, str]:
    timestamp = str(int(now * 1000))
    digest = hmac.new(key, _hubspot_content(request, timestamp), hashlib.sha256).digest()
    return {HUBSPOT_SIGNATURE: _encode(digest, "base64"), HUBSPOT_TIMESTAMP: timestamp}


# --- shared steps -----------------------------------------------------------------------------


def _header(request: SignedRequest, name: str) -> str:
    value = request.headers.get(name.lower())
    if not value:
        raise InvalidSignatureError(f"the {name} header is missing")
    return value


def _check_time(timestamp: str, now: float, tolerance: int, what: str,
                per_second: int = 1) -> None:
    """A signed time must be ASCII digits, and within ``tolerance`` seconds of now either way."""
    # ASCII digits only: int() also takes '1_700_000_000', ' 17e8' and other digit
    # scripts, none of which a sender signs as a time.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        unit = "milliseconds" if per_second == 1000 else "seconds"
        raise InvalidSignatureError(f"the {what} is not a timestamp (epoch {unit})")
    if abs(now * per_second - int(timestamp)) > tolerance * per_second:
        raise InvalidSignatureError(
            f"the {what} timestamp is outside the {tolerance}s tolerance")


def _without_prefix(provided: str, config: VerifyConfig) -> str:
    if config.prefix and not provided.startswith(config.prefix):
        raise InvalidSignatureError(
            f"the {config.header} header does not start with {config.prefix!r}")
    return provided[len(config.prefix):]


def _decode(text: str, encoding: str, header: str | None) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise InvalidSignatureError(f"the {header} header is not {encoding}-encoded") from exc


def _decoded_all(signatures: Iterable[str], encoding: str, header: str) -> list[bytes]:
    """Each signature that decodes; an error when none does (a malformed header)."""
    decoded = []
    for text in signatures:
        try:
            decoded.append(_decode(text, encoding, header))
        except InvalidSignatureError:
            continue
    if not decoded:
        raise InvalidSignatureError(f"the {header} header is not {encoding}-encoded")
    return decoded


def _encode(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def _match(keys: Sequence[bytes], claimed: Sequence[bytes],
           mac: Callable[[bytes], hmac.HMAC], header: str) -> None:
    matched = False
    for key in keys:
        expected = mac(key).digest()
        for signature in claimed:
            # Every pair is compared: timing tells neither which key nor whether one matched.
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise SignatureMismatchError(f"the {header} signature does not match the request")


_VERIFIERS: dict[str, Verifier] = {
    "hmac": _verify_hmac,
    "github": _verify_body_only,
    "shopify": _verify_body_only,
    "typeform": _verify_body_only,
    "stripe": _verify_t_v1,
    "calendly": _verify_t_v1,
    "standard-webhooks": _verify_standard,
    "hubspot-v3": _verify_hubspot,
}
_SIGNERS: dict[str, Signer] = {
    "hmac": _sign_hmac,
    "github": _sign_body_only,
    "shopify": _sign_body_only,
    "typeform": _sign_body_only,
    "stripe": _sign_t_v1,
    "calendly": _sign_t_v1,
    "standard-webhooks": _sign_standard,
    "hubspot-v3": _sign_hubspot,
}
