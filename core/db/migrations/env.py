"""Alembic environment. Runs on a connection handed in by ``core.db.migrate`` (async engines), or on its own URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.engine import Connection

from core.db.tables import Base

config = context.config


def _with_provider_tables() -> None:
    """A provider may declare tables of its own (``payments/<name>/tables.py``) on the same Base. The migration
    environment is where the whole schema meets, so it loads them (by name: core imports no provider) before Alembic
    compares the models with the database; otherwise a new migration would propose dropping them."""
    import importlib
    import importlib.util

    providers = importlib.import_module("payments.providers")
    for entry in providers.ENTRIES.values():
        module = f"{entry.setup.__module__}.tables"  # the provider's own package (a test may register one elsewhere)
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


_with_provider_tables()
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool)
    with engine.connect() as own:
        run_on(own)


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
