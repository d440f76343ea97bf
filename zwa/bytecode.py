"""The deployment package's bytecode, so that a cold start compiles nothing (writes files).

Lambda's code directory is read-only: a module the package carries as source
alone is compiled again on every cold start, which was about 60 ms of the
worker's there (``benchmarks/coldstart.py``). Chalice packages ``app.py``,
``chalicelib``, its own runtime module and the wheels of ``requirements.txt`` as
sources, and sets every file's time to 1980, so bytecode checked against the
source's time would never match; bytecode checked against the source's hash
does, and Python falls back to compiling a source whose hash differs.

``compile_bytecode`` (``python -m zwa.bytecode``) writes that bytecode before a
deploy or a package:
``chalicelib``'s in place (Chalice zips the folder whole, ``__pycache__``
included), and the rest under ``vendor/`` as the package lays it out (Chalice
adds ``vendor/``'s files to the package's root: ``vendor/__pycache__/app.*.pyc``
lands beside ``app.py``). The runtime requirements are pinned in
``requirements.txt``, so the sources compiled here, installed from it, are the
ones Chalice downloads. boto3 and what it brings are the Lambda runtime's, not
packaged.
"""

from __future__ import annotations

import argparse
import importlib.util
import py_compile
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from zwa.stage import PROJECT_ROOT

# In the Lambda runtime, not packaged.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath-community"})
APP_PART = "app.py + chalicelib"
CHALICE_PART = "chalice (runtime module)"
_CHALICE_RUNTIME = frozenset({"chalice/app.py", "chalice/__init__.py"})
_MODE = py_compile.PycInvalidationMode.CHECKED_HASH


@dataclass(frozen=True)
class Compiled:
    """How many modules ``compile_bytecode`` compiled, by where the bytecode went."""

    chalicelib: int
    vendor: int

    def summary(self) -> str:
        return (f"bytecode for the package: {self.chalicelib} modules of chalicelib, "
                f"{self.vendor} more under vendor/")


def package_sources(root: Path = PROJECT_ROOT) -> dict[str, list[tuple[Path, str]]]:
    """What Chalice packages, by part (the app's own, Chalice's runtime module, each runtime
    requirement and what it requires): each file with its path in the package."""
    own = [path for path in (root / "app.py",) if path.is_file()]
    own += sorted((root / "chalicelib").rglob("*.py"))
    parts = {APP_PART: [(path, path.relative_to(root).as_posix()) for path in own]}
    seen: set[str] = set()
    requirements = root / "requirements.txt"
    lines = requirements.read_text().splitlines() if requirements.is_file() else []
    pending = [name for line in lines if line.strip() and not line.lstrip().startswith("#")
               for name in _needed(line)]
    pending.append("chalice")  # Chalice packages its own runtime module with the app
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        files = [(Path(str(dist.locate_file(f))), str(f)) for f in dist.files or []
                 if "__pycache__" not in str(f) and ".." not in str(f)]
        if name == "chalice":
            parts[CHALICE_PART] = [(path, relative) for path, relative in files
                                   if relative in _CHALICE_RUNTIME]
            continue
        parts[name] = [(path, relative) for path, relative in files if path.is_file()]
        pending += [name for requirement in dist.requires or []
                    for name in _needed(requirement)]
    return parts


def compile_bytecode(root: Path = PROJECT_ROOT) -> Compiled:
    """Hash-checked bytecode of every module the package carries: ``chalicelib``'s in
    place, the others' under ``vendor/``. Old bytecode there is removed first."""
    if not (root / "chalicelib").is_dir():
        raise FileNotFoundError(f"{root} holds no chalicelib/: not the project's directory")
    vendor = root / "vendor"
    for folder in (root / "chalicelib", vendor):
        for cache in folder.rglob("__pycache__"):
            shutil.rmtree(cache)
    sources = [(path, relative) for files in package_sources(root).values()
               for path, relative in files if relative.endswith(".py")]
    in_place = [(path, relative) for path, relative in sources
                if relative.startswith("chalicelib/")]
    elsewhere = [(path, relative) for path, relative in sources
                 if not relative.startswith("chalicelib/")]
    return Compiled(chalicelib=compile_sources(in_place, root),
                    vendor=compile_sources(elsewhere, vendor))


def compile_sources(sources: list[tuple[Path, str]], target: Path) -> int:
    """Compile each source into ``target``, where the package holds its bytecode; the count
    compiled (a file that is not valid Python, which no import could load, is left out)."""
    compiled = 0
    for path, relative in sources:
        cached = target / importlib.util.cache_from_source(relative)
        try:
            # dfile: the bytecode names the file by its place in the package, not on
            # this machine (Python names the real file when it loads it anyway).
            py_compile.compile(str(path), cfile=str(cached), dfile=relative, doraise=True,
                               invalidation_mode=_MODE)
        except py_compile.PyCompileError:
            continue
        compiled += 1
    return compiled


def _needed(requirement: str) -> list[str]:
    """The distribution a requirement names, when it applies without extras here (the
    Lambda runtime is Linux and this Python version, as Chalice packages for them)."""
    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
        return []
    return [parsed.name]


def main(argv: Sequence[str] | None = None) -> int:
    """Compile the package's bytecode, as ``zwa deploy`` does before ``chalice deploy``."""
    parser = argparse.ArgumentParser(
        prog="python -m zwa.bytecode", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the project directory")
    args = parser.parse_args(argv)
    try:
        print(compile_bytecode(args.root).summary())
    except OSError as exc:
        print(f"zwa.bytecode: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
