"""``/mappings/{source}``: a source's versions and each one's document; restoring one.

Restoring is the console's first action: a GET shows what would happen and a
form; the POST (CSRF-checked by the application) saves the old document as the
newest version, through the same function as ``zwa mapping rollback``.
"""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from chalicelib.errors import MappingDocumentError
from zwa.console.page import Page
from zwa.console.render import mapping_url
from zwa.mapping_versions import restore_version


def show_mapping(page: Page, source: str) -> Response:
    store = page.services.mappings
    versions = sorted(store.history(source), key=lambda stored: stored.version, reverse=True)
    current = store.current(source)
    restored = page.request.args.get("restored", "")
    return page.render(
        "mappings.html", title=f"Mapping {source}", source=source, versions=versions,
        current=current.version if current else None,
        restored=restored if restored.isdigit() else None,
        status=200 if versions else 404)


def confirm_restore(page: Page, source: str) -> Response:
    store = page.services.mappings
    version = _version(page.request.args.get("version", ""))
    old = store.version(source, version)
    current = store.current(source)
    if old is None or current is None:
        raise NotFound(f"No version {version} of the mapping {source!r}.")
    return page.render("restore.html", title=f"Restore {source} version {version}",
                       source=source, version=version, current=current.version)


def restore(page: Page, source: str) -> Response:
    version = _version(page.request.form.get("version", ""))
    try:
        stored = restore_version(page.services.mappings, source, version, now=page.now())
    except MappingDocumentError as exc:
        raise BadRequest(f"Version {version} of {source!r} is no longer a valid mapping, "
                         f"so it was not restored: {'; '.join(exc.problems)}") from exc
    if stored is None:
        raise NotFound(f"No version {version} of the mapping {source!r}.")
    return redirect(f"{mapping_url(source)}?restored={version}", code=303)


def _version(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise BadRequest("version must be a whole number from 1")
    return int(text)


ROUTES = [
    Rule("/mappings/<source>", endpoint=show_mapping, methods=["GET"]),
    Rule("/mappings/<source>/restore", endpoint=confirm_restore, methods=["GET"]),
    Rule("/mappings/<source>/restore", endpoint=restore, methods=["POST"]),
]
