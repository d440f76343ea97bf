"""``/mappings/{source}/diff`` and ``/mappings/{source}/preview``: compare versions, try a payload.

The diff is ``zwa mapping diff``'s (``zwa.mapping_diff``), shown with added and
removed lines coloured. The preview is ``zwa mapping preview``'s
(``chalicelib.mapping.preview.preview_payload``): the exact requests a pasted
payload would make, checked against Zoho's field metadata through the
mapping's connection when it answers, else offline, and the page says which.
A preview reads; it sends nothing and writes nothing (a POST only so that a
payload stays out of the address bar and the browser's history).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from chalicelib.errors import (
    DeliveryError,
    IngestError,
    MappingDocumentError,
    UnavailableError,
)
from chalicelib.mapping.document import MappingDocument
from chalicelib.mapping.preview import Preview, preview_payload
from chalicelib.stores.mappings import MappingStore, read_mapping
from zwa.console.page import Page
from zwa.mapping_diff import mapping_diff
from zwa.mapping_preview import header_of


def show_diff(page: Page, source: str) -> Response:
    store = page.services.mappings
    numbers = _version_numbers(store, source)
    a = _version(page.request.args.get("a", ""), "a")
    b = _version(page.request.args.get("b", ""), "b")
    try:
        lines = mapping_diff(store, source, a, b)
    except ValueError as exc:
        raise NotFound(f"{exc}; the versions of {source!r} are "
                       f"{', '.join(map(str, numbers))}.") from exc
    return page.render("mapping_diff.html", title=f"Mapping {source}: {a} → {b}",
                       source=source, a=a, b=b, numbers=numbers,
                       lines=[(diff_class(line), line) for line in lines])


def diff_class(line: str) -> str:
    """The CSS class of one unified-diff line."""
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "same"


@dataclass(frozen=True)
class PreviewForm:
    """What the operator pasted."""

    version: str = ""
    payload: str = ""
    headers: str = ""
    offline: bool = False


def show_preview_form(page: Page, source: str) -> Response:
    store = page.services.mappings
    numbers = _version_numbers(store, source)
    return page.render("mapping_preview.html", title=f"Preview {source}", source=source,
                       numbers=numbers, form=PreviewForm(), preview=None, problem=None,
                       metadata_note=None)


def run_preview(page: Page, source: str) -> Response:
    store = page.services.mappings
    numbers = _version_numbers(store, source)
    given = page.request.form
    form = PreviewForm(version=given.get("version", "").strip(),
                       payload=given.get("payload", ""), headers=given.get("headers", ""),
                       offline=given.get("offline") == "1")

    def answer(status: int, **values: Any) -> Response:
        shown = {"preview": None, "problem": None, "metadata_note": None, **values}
        return page.render("mapping_preview.html", title=f"Preview {source}", source=source,
                           numbers=numbers, form=form, status=status, **shown)

    try:
        document = _document(store, source, form.version)
        headers = parse_header_lines(form.headers)
        if not form.payload.strip():
            raise ValueError("Paste a payload: the body a provider would send.")
        preview, note = _preview(page, document, form.payload.encode(), headers, form.offline)
    except MappingDocumentError as exc:
        return answer(400, problem="This version is not a valid mapping: "
                      + "; ".join(exc.problems))
    except IngestError as exc:
        return answer(400, problem=f"The api would refuse this payload ({exc.status}): "
                      f"{exc.message}")
    except ValueError as exc:
        return answer(400, problem=str(exc))
    return answer(200, preview=preview, deliveries=list(preview.items) or [preview],
                  metadata_note=note, pretty=pretty_body)


def parse_header_lines(text: str) -> dict[str, str]:
    """``Name: Value`` lines as headers; ``ValueError`` names a line without a colon."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        header = header_of(line)
        if header is None:
            raise ValueError(f"Headers: line {number} is not 'Name: Value'.")
        headers[header[0]] = header[1]
    return headers


def pretty_body(body: Any) -> str:
    """A request body as the worker would send it, indented."""
    return json.dumps(body, indent=2, ensure_ascii=False)


def _preview(page: Page, document: MappingDocument, payload: bytes, headers: dict[str, str],
             offline: bool) -> tuple[Preview, str]:
    """The preview with Zoho's field metadata when reachable; and a note saying which."""
    metadata_for = page.services.field_metadata
    if offline or metadata_for is None:
        why = "you asked for it offline" if offline else "this console has no Zoho connection"
        return (preview_payload(document, payload, headers, None),
                f"Not checked against Zoho's field metadata ({why}).")
    connection = document.connection
    try:
        fields, api_domain = metadata_for(connection)
        preview = preview_payload(document, payload, headers, fields, api_domain=api_domain)
    except (DeliveryError, UnavailableError) as exc:
        reason = (exc.failure.code if isinstance(exc, DeliveryError)
                  else type(exc).__name__)
        return (preview_payload(document, payload, headers, None),
                f"Offline: Zoho's field metadata could not be read through the connection "
                f"{connection} ({reason}), so fields, types and picklists were not checked. "
                f"Check the connection with 'zwa --stage {page.services.stage} connection "
                f"test {connection}'.")
    return preview, (f"Checked against Zoho's field metadata through the connection "
                     f"{connection}.")


def _document(store: MappingStore, source: str, version_text: str) -> MappingDocument:
    version = _version(version_text, "version") if version_text else None
    document = read_mapping(store, source, version)
    if document is None:
        raise NotFound(f"No version {version} of the mapping {source!r}.")
    return document


def _version_numbers(store: MappingStore, source: str) -> list[int]:
    numbers = sorted((stored.version for stored in store.history(source)), reverse=True)
    if not numbers:
        raise NotFound(f"No mapping for {source!r}; store one with 'zwa mapping put'.")
    return numbers


def _version(text: str, name: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise BadRequest(f"{name} must be a version number from 1")
    return int(text)


ROUTES = [
    Rule("/mappings/<source>/diff", endpoint=show_diff, methods=["GET"]),
    Rule("/mappings/<source>/preview", endpoint=show_preview_form, methods=["GET"]),
    Rule("/mappings/<source>/preview", endpoint=run_preview, methods=["POST"]),
]
