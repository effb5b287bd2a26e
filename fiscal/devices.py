"""A shop's control unit at an authority and the documents numbered on it, for every fiscal integration.

The numbering rule: a document's number is its device's counter plus one, taken by one conditional ``UPDATE ...
RETURNING`` in the transaction that inserts the document. The row lock that statement takes serialises numbering on
a device (PostgreSQL; SQLite has one writer), a transaction that fails gives its number back with itself, and the
unique keys (device, number) and (tenant, source) refuse a second number or a second document: the sequence is
gap-free and strictly increasing whatever the number of processes. Documents are submitted in number order
(:func:`waiting_on`), so the authority receives them in that order too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import FiscalDevice, FiscalDocument, Tenant
from core.vault import Vault
from payments.setup import ProviderSetup

NUMBERED = "numbered"
SUBMITTED = "submitted"


async def device(session: AsyncSession, tenant_id: int, authority: str) -> FiscalDevice | None:
    return await session.scalar(
        select(FiscalDevice).where(FiscalDevice.tenant_id == tenant_id, FiscalDevice.authority == authority)
    )


def stored_values(device_row: FiscalDevice, vault: Vault, model: type[ProviderSetup]) -> dict[str, str]:
    """The device's settings as given (secrets decrypted), for its settings model: what the device learnt besides
    (the control unit's id an initialisation returned) is not a setting and is left out."""
    secrets = vault.decrypt_json(device_row.secrets_enc) if device_row.secrets_enc else {}
    values = {**{key: str(value) for key, value in (device_row.options or {}).items()}, **secrets}
    return {key: value for key, value in values.items() if key in model.model_fields}


async def store(
    session: AsyncSession,
    vault: Vault,
    tenant_id: int,
    setup: ProviderSetup,
    now: datetime,
    *,
    keep: Mapping[str, str] = {},
) -> FiscalDevice:
    """Create or replace the shop's settings for ``setup``'s authority. ``keep``: stored secrets the operator did not
    give again (a communication key the authority issued) and still wants."""
    secrets, options = setup.stored()
    authority = type(setup).provider
    tenant = await session.get(Tenant, tenant_id, with_for_update=True)
    assert tenant is not None
    reported = {name for name in tenant.fiscal_authorities.split(",") if name}
    tenant.fiscal_authorities = ",".join(sorted({*reported, authority}))
    row = await device(session, tenant_id, authority)
    bundle = {**keep, **secrets}
    if row is None:
        row = FiscalDevice(
            tenant_id=tenant_id,
            authority=authority,
            enabled=True,
            options=options,
            secrets_enc=vault.encrypt_json(bundle) if bundle else None,
            last_number=0,
            registered_items=[],
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        return row
    row.options = options
    row.secrets_enc = vault.encrypt_json(bundle) if bundle else None
    row.enabled = True
    row.updated_at = now
    return row


async def add_secret(session: AsyncSession, vault: Vault, device_id: int, name: str, value: str, now: datetime) -> None:
    """Keep one more secret in the device's bundle (the communication key an initialisation returned)."""
    row = await session.get(FiscalDevice, device_id, with_for_update=True)
    assert row is not None
    bundle = vault.decrypt_json(row.secrets_enc) if row.secrets_enc else {}
    bundle[name] = value
    row.secrets_enc = vault.encrypt_json(bundle)
    row.initialised_at = now
    row.updated_at = now


async def document(session: AsyncSession, tenant_id: int, source_key: str) -> FiscalDocument | None:
    return await session.scalar(
        select(FiscalDocument).where(FiscalDocument.tenant_id == tenant_id, FiscalDocument.source_key == source_key)
    )


async def number_document(
    session: AsyncSession,
    device_row: FiscalDevice,
    *,
    kind: str,
    source_key: str,
    order_id: int,
    payment_id: int | None,
    amount_minor: int,
    currency: str,
    original_number: int | None,
    request: Mapping[str, Any],
    now: datetime,
) -> FiscalDocument:
    """The next number of the device, given to a new document, in the caller's transaction."""
    table = FiscalDevice.__table__
    number = await session.scalar(
        update(FiscalDevice)
        .where(table.c.id == device_row.id)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
        .execution_options(synchronize_session=False)
    )
    assert number is not None
    row = FiscalDocument(
        tenant_id=device_row.tenant_id,
        device_id=device_row.id,
        kind=kind,
        source_key=source_key,
        order_id=order_id,
        payment_id=payment_id,
        amount_minor=amount_minor,
        currency=currency,
        number=number,
        original_number=original_number,
        status=NUMBERED,
        request=dict(request),
        attempts=0,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def waiting_on(session: AsyncSession, device_id: int, number: int) -> int | None:
    """The lowest number before ``number`` still unsubmitted on the device: ``number`` must wait for it."""
    return await session.scalar(
        select(FiscalDocument.number)
        .where(
            FiscalDocument.device_id == device_id,
            FiscalDocument.number < number,
            FiscalDocument.status != SUBMITTED,
        )
        .order_by(FiscalDocument.number)
        .limit(1)
    )


async def sale_of(session: AsyncSession, tenant_id: int, device_id: int, order_id: int) -> FiscalDocument | None:
    return await session.scalar(
        select(FiscalDocument)
        .where(
            FiscalDocument.tenant_id == tenant_id,
            FiscalDocument.device_id == device_id,
            FiscalDocument.order_id == order_id,
            FiscalDocument.kind == "sale",
        )
        .order_by(FiscalDocument.number)
        .limit(1)
    )
