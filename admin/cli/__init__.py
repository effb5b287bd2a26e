"""The operator's commands: ``dukabot db``, ``tenant``, ``provider``, ``fiscal``, ``notify``, ``catalog``, ``keys``
and ``promo``.

The root ``dukabot`` group lives in ``webhooks.cli`` and attaches these groups with :func:`register`. Each command reads
:class:`~core.settings.Settings` (``DUKABOT_*``), builds the database and the vault, runs one operation of
:mod:`admin.shops` in one unit of work, commits once and disposes of the engine (:mod:`.plumbing`). Each group has a
module of its own, which imports only Click (and the light :mod:`.plumbing`) at the top; a command imports the
shop operations, the database and the payment code when it runs, so that `--help` answers at once.

Expected failures print one line on stderr and exit with 1 (Click's usage errors exit with 2); no traceback, and never
a secret: secrets are read from options, environment variables or a hidden prompt, and only ever shown masked.
"""

from __future__ import annotations

import click

from admin.cli.catalog_commands import catalog
from admin.cli.db_commands import db
from admin.cli.fiscal_commands import fiscal
from admin.cli.keys_commands import keys
from admin.cli.notify_commands import notify
from admin.cli.promo_commands import promo
from admin.cli.provider_commands import provider
from admin.cli.tenant_commands import tenant

__all__ = ["catalog", "db", "fiscal", "keys", "notify", "promo", "provider", "register", "tenant"]


def register(root: click.Group) -> None:
    """Attach the operator groups to the root ``dukabot`` group."""
    for group in (db, tenant, provider, fiscal, notify, catalog, keys, promo):
        root.add_command(group)
