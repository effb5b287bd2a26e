"""Which database URLs dukabot accepts, and the one spelling of each that the engine is given.

dukabot ships two drivers: asyncpg for PostgreSQL and aiosqlite for SQLite. People paste the URL their host gives
them (``postgres://…?sslmode=require``) or the one from another project (``postgresql+psycopg2://…``); the first is
the same database through our driver, so it is accepted; the second names a driver we do not install, and is refused
here in one line rather than by an import error deep in SQLAlchemy.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SUPPORTED", "DatabaseUrlError", "normalise_database_url"]

SUPPORTED: Final = "postgresql://… (asyncpg) or sqlite:///path (aiosqlite)"

# The schemes that mean our driver. Any other "+driver" is one we do not install.
_OURS: Final = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",  # Heroku's and Render's spelling
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
# libpq's sslmode values, which asyncpg takes as its `ssl` argument (it has no `sslmode` keyword: passed through
# unchanged, connecting fails with a TypeError).
_SSL_MODES: Final = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
# Query parameters SQLAlchemy's asyncpg dialect hands to asyncpg.connect() as keywords.
_ASYNCPG_PARAMETERS: Final = {
    "ssl",
    "timeout",
    "command_timeout",
    "statement_cache_size",
    "prepared_statement_cache_size",
    "target_session_attrs",
    "direct_tls",
    "passfile",
}


class DatabaseUrlError(ValueError):
    """A database URL dukabot cannot use; the message is one line and never repeats the URL (it may hold a
    password)."""


def normalise_database_url(url: str) -> str:
    """``url`` spelt for our drivers (``postgresql+asyncpg://``, ``sqlite+aiosqlite://``), or DatabaseUrlError."""
    from sqlalchemy.engine import make_url  # only when a URL is given: settings stay cheap to load
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(f"not a database URL: use {SUPPORTED}") from None
    scheme = parsed.drivername.lower()
    driver = _OURS.get(scheme)
    if driver is None:
        raise DatabaseUrlError(f"the driver {scheme[:40]!r} is not supported: use {SUPPORTED}")
    parsed = parsed.set(drivername=driver)
    if driver == "postgresql+asyncpg":
        parsed = parsed.set(query=_asyncpg_query(dict(parsed.query)))
    return parsed.render_as_string(hide_password=False)


def _asyncpg_query(query: dict[str, str | tuple[str, ...]]) -> dict[str, str | tuple[str, ...]]:
    sslmode = query.pop("sslmode", None)
    if sslmode is not None:
        if not isinstance(sslmode, str) or sslmode not in _SSL_MODES:
            raise DatabaseUrlError(f"sslmode must be one of {', '.join(sorted(_SSL_MODES))}")
        query.setdefault("ssl", sslmode)
    unknown = sorted(set(query) - _ASYNCPG_PARAMETERS)
    if unknown:
        raise DatabaseUrlError(
            f"the URL parameter {unknown[0][:40]!r} is not understood by asyncpg: use only "
            f"{', '.join(sorted(_ASYNCPG_PARAMETERS | {'sslmode'}))}"
        )
    return query
