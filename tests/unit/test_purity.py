"""The pure core stays pure: no AWS, no HTTP, no environment, no clock."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = [
    "chalicelib/mapping/expressions.py",
    "chalicelib/mapping/transforms.py",
    "chalicelib/mapping/document.py",
    "chalicelib/mapping/engine.py",
    "chalicelib/mapping/validation.py",
    "chalicelib/mapping/preview.py",
    "chalicelib/zoho/search.py",
    "chalicelib/ingest/body.py",
    "chalicelib/ingest/signatures.py",
    "chalicelib/ingest/schemes.py",
    "chalicelib/ingest/request.py",
    "chalicelib/ingest/answers.py",
    "chalicelib/zoho/responses.py",
    "chalicelib/delivery/backoff.py",
    "chalicelib/delivery/message.py",
    "chalicelib/delivery/guard.py",
    "chalicelib/delivery/audit.py",
    "chalicelib/settings.py",
]
FORBIDDEN_IMPORTS = {"boto3", "botocore", "requests", "time", "os", "random", "socket"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_io(module):
    tree = ast.parse((ROOT / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN_IMPORTS
    assert "datetime.now" not in (ROOT / module).read_text()
