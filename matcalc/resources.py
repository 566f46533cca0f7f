"""Where the grammar and the rules files are, installed or in a source checkout.

An installed wheel carries them as package data (matcalc/grammar, matcalc/rules);
a source checkout keeps them at the top level, beside the package.  A plain path
beside __file__ finds both, without the import cost of importlib.resources'
readers on every run of the command (tests/test_package.py proves the installed case).
"""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    packaged = _PACKAGE / kind
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / kind


def read_text(kind: str, name: str) -> str:
    return (data_dir(kind) / name).read_text(encoding="utf-8")


def list_files(kind: str, suffix: str) -> list:
    return sorted((p for p in data_dir(kind).iterdir() if p.name.endswith(suffix)), key=lambda p: p.name)


def cache_dir() -> Path:
    """A per-user folder for the parser table and loaded rules (never shared with other users)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "matcalc"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
