"""The api's own shape for the errors Chalice answers by itself (pure).

Chalice answers a method a route does not take (405), and a few other requests,
before any view runs, as ``{"Code": "MethodNotAllowedError", "Message": ...}``.
Every answer of this api is ``{"code", "message"}`` instead (SPEC section 2), so
those are rewritten: ``MethodNotAllowedError`` becomes ``METHOD_NOT_ALLOWED``.
"""

from __future__ import annotations

import re
from typing import Any

METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def house_error(body: Any) -> dict[str, str] | None:
    """``body`` in the api's error shape, or None when it is not one of Chalice's errors."""
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return None
    name = str(body["Code"]).removesuffix("Error")
    return {"code": _WORD.sub("_", name).upper(), "message": str(body["Message"])}
