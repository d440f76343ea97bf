"""Webhook bodies: the media type check and the parse into a JSON-like value (pure).

- ``application/json``: any JSON value.
- ``application/x-www-form-urlencoded``: a flat object; a repeated key becomes a list.
- ``multipart/form-data``: fields as for urlencoded (file parts give their file name
  only); a field named ``rawRequest`` holding JSON, as Jotform sends, becomes an object.

A body that parses must also be one every later step can carry (JMESPath, the
queue, DynamoDB, the worker), so these are refused here, as malformed, rather
than failing later with an error a provider would retry for days: nesting deeper
than ``MAX_NESTING_DEPTH`` levels, whole numbers of more than ``MAX_INTEGER_DIGITS``
digits, ``NaN``/``Infinity`` and numbers beyond a double, lone UTF-16 surrogates
(text that has no UTF-8 form), and parts in a charset Python cannot decode
(400); objects holding more than ``MAX_BODY_KEYS`` keys in all (413).
"""

from __future__ import annotations

import json
import math
from email.errors import MessageError
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from chalicelib.errors import (
    MalformedPayloadError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

if TYPE_CHECKING:
    from email.message import Message

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
SUPPORTED_MEDIA_TYPES = (JSON, FORM, MULTIPART)
# Levels of objects and arrays, the outermost counting as one. Real webhooks use
# fewer than ten; the limit keeps every recursive step after the parse safe.
MAX_NESTING_DEPTH = 64
# Python's own limit on converting between a whole number and its digits.
MAX_INTEGER_DIGITS = 4300
# Keys of all the body's objects together. A large real webhook (a Shopify order
# with its line items) holds a few thousand; the default 256 KiB body could hold
# over 40,000 one-letter keys, each costing the worker's expressions their time.
MAX_BODY_KEYS = 20_000
_EMAIL_PARSER_ERRORS = (
    IndexError, KeyError, AttributeError, TypeError, ValueError, MessageError,
)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased; JSON when absent."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def check_body_size(raw: bytes, max_body_bytes: int) -> None:
    """``PayloadTooLargeError`` for a body over the source's ``max_body_bytes``."""
    if len(raw) > max_body_bytes:
        raise PayloadTooLargeError(
            f"the body is {len(raw)} bytes, over this source's max_body_bytes ({max_body_bytes})")


def check_media_type(content_type: str | None) -> str:
    """The media type if the adapter reads it, else ``UnsupportedMediaTypeError``."""
    if content_type and not content_type.isascii():
        raise UnsupportedMediaTypeError(
            "the Content-Type header holds characters outside ASCII; send e.g. application/json"
        )
    kind = media_type(content_type)
    if kind == JSON or kind.endswith("+json"):
        return JSON
    if kind in SUPPORTED_MEDIA_TYPES:
        return kind
    raise UnsupportedMediaTypeError(
        f"content type {kind!r} is not accepted; send JSON, form-urlencoded or multipart form data"
    )


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """Parse ``raw`` for its content type; ``MalformedPayloadError`` when it does not parse."""
    kind = check_media_type(content_type)
    if kind == JSON:
        body = _parse_json(raw)
    elif kind == FORM:
        body = _parse_form(raw)
    else:
        body = _parse_multipart(raw, content_type or "")
    _check_carriable(body)
    return body


def _parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedPayloadError("the JSON body is not valid UTF-8") from exc
    return _loads(text, "the body")


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(
            text, parse_int=_integer, parse_float=_finite, parse_constant=_not_a_number
        )
    except RecursionError as exc:
        raise MalformedPayloadError(_too_deep()) from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayloadError(
            f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def _integer(digits: str) -> int:
    try:
        if len(digits.lstrip("-")) <= MAX_INTEGER_DIGITS:
            return int(digits)
    except ValueError:  # a runtime configured with a lower limit than Python's default
        pass
    raise MalformedPayloadError(
        f"a whole number in the body has more than {MAX_INTEGER_DIGITS} digits"
    )


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedPayloadError("a number in the body is too large for a double")
    return value


def _not_a_number(name: str) -> Any:
    raise MalformedPayloadError(f"{name} is not a JSON number")


def _too_deep() -> str:
    return f"the body is nested deeper than {MAX_NESTING_DEPTH} levels of objects and arrays"


def _check_carriable(body: Any) -> None:
    """Refuse what parses but cannot travel on: deep nesting, lone surrogates, too many keys."""
    pending: list[tuple[Any, int]] = [(body, 0)]
    keys = 0
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth == MAX_NESTING_DEPTH:
                raise MalformedPayloadError(_too_deep())
            if isinstance(value, dict):
                keys += len(value)
                if keys > MAX_BODY_KEYS:
                    raise PayloadTooLargeError(
                        f"the body's objects hold more than {MAX_BODY_KEYS} keys in all")
                for key in value:
                    _check_text(key)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the only code point UTF-8 cannot encode
        raise MalformedPayloadError(
            "a string in the body holds a lone UTF-16 surrogate (such as \\ud800), "
            "which is not text"
        ) from None


def _parse_form(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayloadError("the form-urlencoded body does not parse") from exc
    return _collect(pairs)


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    if "boundary=" not in content_type.lower():
        raise MalformedPayloadError("the multipart body has no boundary in its Content-Type")
    try:
        return _read_multipart(raw, content_type)
    # The standard library's header parser still fails on some malformed
    # parameters with errors of its own (an IndexError on 'a*' in a Content-Type,
    # for one): whatever it raises here comes from what the caller sent.
    except _EMAIL_PARSER_ERRORS as exc:
        raise MalformedPayloadError("the multipart body does not parse") from exc


def _read_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    # Loaded here: the email package's parser costs every cold start that never sees multipart.
    from email.parser import BytesParser
    from email.policy import HTTP

    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("ascii")
    message = BytesParser(policy=HTTP).parsebytes(header + raw)
    if not message.is_multipart() or message.defects:
        raise MalformedPayloadError("the multipart body does not parse")
    return _collect([_multipart_field(part) for part in message.iter_parts()])


def _multipart_field(part: Message) -> tuple[str, Any]:
    try:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MalformedPayloadError("a multipart part has no field name")
        filename = part.get_filename()
        if filename is not None:
            return name, {"filename": filename}
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        value: Any = payload.decode(part.get_content_charset() or "utf-8")
    # UnicodeError, not only UnicodeDecodeError: codecs such as 'undefined' raise
    # the base class, for a part's body as for an RFC 2231 parameter (filename*=).
    # LookupError: no such codec, or one that is not for text (base64).
    except (UnicodeError, LookupError) as exc:
        raise MalformedPayloadError(
            "a multipart part is not text in its declared charset"
        ) from exc
    if name == "rawRequest":
        value = _loads(value, "the rawRequest field")
    return name, value


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    return out
