"""Which schema revision a database is at, and which one this code needs, without importing Alembic.

Every operator command checks the schema before it runs; importing Alembic for that cost a quarter of a short
command's time. The head is read from the migration files' own ``revision``/``down_revision`` lines (the form
Alembic writes and our files keep), and ``tests/unit/test_schema_version.py`` checks it against Alembic's answer.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION = re.compile(r"^revision(?:: str)? = ['\"](?P<id>[^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (?:['\"](?P<id>[^'\"]+)['\"]|None)", re.MULTILINE)


@cache
def _heads() -> frozenset[str]:
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue  # __init__.py
        revisions.add(found["id"])
        down = _DOWN.search(source)
        if down is not None and down["id"]:
            built_on.add(down["id"])
    return frozenset(revisions - built_on)


def head_revisions() -> set[str]:
    """The revisions no other migration builds on: what an up-to-date database is at. Read once per process: the
    files are this code's own."""
    return set(_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """What the database's ``alembic_version`` table says; empty when it has no tables yet."""
    async with engine.connect() as connection:
        try:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no such table: a database never migrated
            return set()
        return {str(row[0]) for row in rows}
