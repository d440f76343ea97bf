"""Webhook bodies: the media type check and the parse into a JSON-like value (pure).

- ``application/json``: any JSON value.
- ``application/x-www-form-urlencoded``: a flat object; a repeated key becomes a list.
- ``multipart/form-data``: fields as for urlencoded (file parts give their file name
  only); a field named ``rawRequest`` holding JSON, as Jotform sends, becomes an object.
"""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.errors import MalformedPayloadError, UnsupportedMediaTypeError

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
SUPPORTED_MEDIA_TYPES = (JSON, FORM, MULTIPART)


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased; JSON when absent."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def check_media_type(content_type: str | None) -> str:
    """The media type if the adapter reads it, else ``UnsupportedMediaTypeError``."""
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
        return _parse_json(raw)
    if kind == FORM:
        return _parse_form(raw)
    return _parse_multipart(raw, content_type or "")


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise MalformedPayloadError("the JSON body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayloadError(
            f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


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
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(header + raw)
    if not message.is_multipart() or message.defects:
        raise MalformedPayloadError("the multipart body does not parse")
    pairs: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MalformedPayloadError("a multipart part has no field name")
        filename = part.get_filename()
        if filename is not None:
            pairs.append((name, {"filename": filename}))
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        try:
            value: Any = payload.decode(part.get_content_charset() or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise MalformedPayloadError(f"the multipart field {name!r} is not valid text") from exc
        if name == "rawRequest":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise MalformedPayloadError("the rawRequest field is not valid JSON") from exc
        pairs.append((name, value))
    return _collect(pairs)


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
