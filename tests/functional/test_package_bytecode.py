"""``python -m zwa.bytecode``: the package's bytecode, written where Chalice zips it.

The packaging tests (``test_deploy_artifacts.py``) check the zip Chalice makes
from it; these check the command on a copy of the project.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zwa.bytecode import main, package_sources

ROOT = Path(__file__).resolve().parents[2]
TAG = sys.implementation.cache_tag


@pytest.fixture
def project(tmp_path) -> Path:
    for relative in ("app.py", "requirements.txt"):
        shutil.copy2(ROOT / relative, tmp_path / relative)
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def checked_against(cached: bytes, source: bytes) -> bool:
    """Whether bytecode ``cached`` is this Python's, checked against ``source``'s hash.

    Never its time: Chalice zips every file as 1980.
    """
    header = cached[:16]
    return (header[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(header[4:8], "little") == 0b11
            and header[8:16] == importlib.util.source_hash(source))


def test_every_packaged_module_gets_bytecode_checked_against_its_source(project, capsys):
    assert main(["--root", str(project)]) == 0
    sources = [(path, relative) for files in package_sources(project).values()
               for path, relative in files if relative.endswith(".py")
               and not relative.split("/")[0].endswith((".data", ".dist-info"))]
    chalicelib = [item for item in sources if item[1].startswith("chalicelib/")]
    assert capsys.readouterr().out.strip() == (
        f"bytecode for the package: {len(chalicelib)} modules of chalicelib, "
        f"{len(sources) - len(chalicelib)} more under vendor/")
    for path, relative in sources:
        where = project if relative.startswith("chalicelib/") else project / "vendor"
        cached = where / importlib.util.cache_from_source(relative)
        assert checked_against(cached.read_bytes(), path.read_bytes()), relative
    assert (project / "vendor" / "__pycache__" / f"app.{TAG}.pyc").is_file()
    assert (project / "vendor" / "chalice" / "__pycache__" / f"app.{TAG}.pyc").is_file()


def test_bytecode_of_a_module_that_is_gone_goes_too(project):
    gone = [project / "chalicelib" / "__pycache__" / f"gone.{TAG}.pyc",
            project / "vendor" / "gone" / "__pycache__" / f"gone.{TAG}.pyc"]
    for path in gone:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"old")
    assert main(["--root", str(project)]) == 0
    assert not any(path.exists() for path in gone)


_COMPILED = """
import importlib._bootstrap_external as loading, json, sys
compiled = []
original = loading.SourceLoader.source_to_code
def source_to_code(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
loading.SourceLoader.source_to_code = source_to_code
import app, chalicelib.delivery.worker, chalicelib.ingest.accept, aws_lambda_powertools
print(json.dumps(compiled))
"""


def test_the_unpacked_package_compiles_nothing_when_it_starts(project, tmp_path_factory):
    """As Lambda runs it: the package's files in one folder, no bytecode written."""
    assert main(["--root", str(project)]) == 0
    package = tmp_path_factory.mktemp("package")
    for files in package_sources(project).values():
        for path, relative in files:
            (package / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, package / relative)
    for folder in (project, project / "vendor"):  # Chalice adds vendor/ at the root
        for cached in folder.rglob("*.pyc"):
            target = package / cached.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)

    def compiled() -> list[str]:
        done = subprocess.run([sys.executable, "-B", "-c", _COMPILED], cwd=package,
                              capture_output=True, text=True, timeout=60, check=True)
        return [str(Path(path).relative_to(package)) for path in json.loads(done.stdout)
                if Path(path).is_relative_to(package)]

    assert compiled() == []
    # A source whose hash is not the bytecode's is compiled from its text (and works).
    (package / "app.py").write_text((package / "app.py").read_text() + "\n")
    assert compiled() == ["app.py"]


def test_a_folder_that_is_not_the_project_is_refused_and_left_as_it_was(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "elsewhere")]) == 1
    assert "holds no chalicelib/" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()
