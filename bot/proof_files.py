"""Fingerprints of uploaded proofs: after a proof is stored, the bot downloads the file from Telegram and records its
SHA-256, so the merchant is warned when the same image comes back as proof of another payment.

Runs after the update's transaction has committed (a slow download never holds a transaction open); a failure only
leaves the fingerprint empty, and the file's Telegram ``file_unique_id`` still catches the plain re-send."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select, update

from bot.channel import Channel
from core.db.engine import Database
from core.db.tables import Proof
from flows.context import MAX_PROOF_BYTES
from flows.inbound import Upload

log = logging.getLogger(__name__)


class ProofFingerprints:
    def __init__(self, database: Database, channel: Channel) -> None:
        self.database = database
        self.channel = channel

    async def __call__(self, tenant_id: int, upload: Upload) -> None:
        if upload.size is not None and upload.size > MAX_PROOF_BYTES:
            return
        async with self.database.uow(read_only=True) as uow:
            ids = list(
                await uow.session.scalars(
                    select(Proof.id).where(
                        Proof.tenant_id == tenant_id,
                        Proof.file_unique_id == upload.file_unique_id,
                        Proof.content_sha256.is_(None),
                    )
                )
            )
        if not ids:
            return  # the upload did not become a proof (wrong step, refused...)
        content = await self.channel.download(tenant_id, upload.file_id)
        if content is None:
            return
        digest = hashlib.sha256(content).hexdigest()
        async with self.database.uow() as uow:
            await uow.session.execute(
                update(Proof).where(Proof.tenant_id == tenant_id, Proof.id.in_(ids)).values(content_sha256=digest)
            )
            await uow.commit()
        log.info("tenant %s: proof %s fingerprinted", tenant_id, ids[-1], extra={"tenant": tenant_id})
