"""``dukabot keys``: re-encrypting the stored secrets when the encryption keys change."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from admin.cli.plumbing import echo_hint, echo_ok, echo_warning, in_unit_of_work, load_settings, load_vault
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings

__all__ = ["keys"]


def _key_count(settings: Settings) -> int:
    if settings.secret_keys:
        return len([key for key in settings.secret_keys.get_secret_value().split(",") if key.strip()])
    try:
        return len([line for line in settings.key_file.read_text().splitlines() if line.strip()])
    except OSError:
        return 0


@click.group()
def keys() -> None:
    """The encryption keys of the stored secrets."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every bot token, webhook secret and provider secret under the first key.

    \b
    To change keys:
      1. put a new Fernet key first in DUKABOT_SECRET_KEYS (comma-separated)
         or on the first line of the key file, keeping the old keys after it;
      2. run: dukabot keys rotate
      3. remove the old keys.
    A new key:
      python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
    """
    from admin import shops

    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> int:
        return await shops.rotate_keys(session, vault, now=SystemClock().now())

    count = in_unit_of_work(settings, work)
    echo_ok(f"Re-encrypted {count} secrets under the first key.")
    if _key_count(settings) > 1:
        echo_hint("The other keys are no longer needed for these secrets: remove them.")
    else:
        echo_warning(
            "Only one key is configured, so the secrets stay under it. To rotate, put a new key first (see --help)."
        )
