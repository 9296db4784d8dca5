"""Versioned SQL migrations, one folder per dialect: `NNNN_name.sql`, applied in order at
start-up and recorded in `schema_migrations`, so a store opened on an older database
brings it up to date and one opened on a current database does nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load(dialect: str) -> list[Migration]:
    """Every migration for `dialect` ('sqlite' or 'postgres'), by ascending version."""
    folder = resources.files(__package__) / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions for {dialect}: {versions}")
    return found
