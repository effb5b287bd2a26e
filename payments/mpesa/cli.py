"""M-Pesa's own operator commands, added to ``dukabot provider`` through the registry: registering the shop's C2B
URLs with Daraja (the Paybill fallback), rotating their secret, asking again about receipts waiting for Transaction
Status. Only Click is imported at the top: ``dukabot --help`` lists these commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import httpx

    from payments.base import OperatorKit, OperatorSession
    from payments.mpesa.provider import MpesaProvider

_PUBLIC_URL_HELP = "Where Daraja should send the payments (default: DUKABOT_PUBLIC_URL)."


def commands(kit: OperatorKit) -> Sequence[click.Command]:
    @click.command("register-c2b")
    @click.argument("slug")
    @click.option("--public-url", metavar="URL", help=_PUBLIC_URL_HELP)
    def register_c2b(slug: str, public_url: str | None) -> None:
        """Register the M-Pesa C2B URLs of shop SLUG with Daraja (the Paybill fallback).

        Customers who pay the shop's Paybill with the order code as the account number are then matched to their
        orders. The URLs carry a random secret of the shop's own, made now if it has none. Uses the shop's C2B
        version (--c2b-version of `provider set`, v2 by default). In production Daraja registers URLs once: to
        change them, delete them in the M-Pesa portal first.
        """
        _register(kit, slug, public_url, rotate=False)

    @click.command("rotate-c2b")
    @click.argument("slug")
    @click.option("--public-url", metavar="URL", help=_PUBLIC_URL_HELP)
    def rotate_c2b(slug: str, public_url: str | None) -> None:
        """Give shop SLUG a new C2B URL secret and register the new URLs with Daraja.

        The old URLs stop working at once (404). If Daraja refuses the new URLs, nothing changes and the old ones
        stay. In production Daraja registers URLs once: delete the shop's URLs in the M-Pesa portal first.
        """
        _register(kit, slug, public_url, rotate=True)

    @click.command("recheck-c2b")
    @click.argument("slug")
    @click.option(
        "--public-url", metavar="URL", help="Where Daraja should send its answers (default: DUKABOT_PUBLIC_URL)."
    )
    def recheck_c2b(slug: str, public_url: str | None) -> None:
        """Ask Daraja again about shop SLUG's Paybill payments still waiting for Transaction Status.

        Daraja does not resend a lost answer: run this when a payment stays "being confirmed". Each answer settles
        its payment once, however many times it is asked.
        """
        _recheck(kit, slug, public_url)

    return (register_c2b, rotate_c2b, recheck_c2b)


async def _mpesa(work: OperatorSession, slug: str, base: str, http: httpx.AsyncClient) -> MpesaProvider | None:
    from payments.mpesa.provider import MpesaProvider

    tenant = await work.tenant(slug)
    provider = await work.provider(tenant, "mpesa", http, base)
    return provider if isinstance(provider, MpesaProvider) else None


def _register(kit: OperatorKit, slug: str, public_url: str | None, *, rotate: bool) -> None:
    import httpx

    from payments.base import ProviderError
    from payments.mpesa.c2b import c2b_urls, new_c2b_secret

    base = kit.public_url(public_url)
    if base is None:
        kit.refuse("Daraja needs a public URL to call: set DUKABOT_PUBLIC_URL or give --public-url")

    async def work(session: OperatorSession) -> tuple[str, str]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            provider = await _mpesa(session, slug, base, http)
            if provider is None:
                kit.refuse(f"M-Pesa is not set for {slug!r}: dukabot provider set {slug} mpesa ...")
            if provider.settings.paybill is None:
                kit.refuse("this shop takes M-Pesa to a till; the Paybill fallback needs a Paybill")
            secret = await session.managed_secret(slug, "mpesa", "c2b_secret", new_c2b_secret, rotate=rotate)
            confirmation, validation = c2b_urls(base, slug, secret)
            try:
                answer = await provider.register_c2b(confirmation, validation)
            except ProviderError as exc:  # the unit of work is not committed: a new secret is not kept
                kit.refuse(str(exc))
            return answer, f"{provider.settings.shortcode} (C2B {provider.settings.c2b_version})"

    answer, what = kit.run(work)
    kit.done(f"C2B URLs {'rotated and ' if rotate else ''}registered for {slug!r}, shortcode {what}: {answer}")
    click.echo(f"  confirmation: {base}/pay/c2b/{slug}/…/confirm")
    click.echo(f"  validation:   {base}/pay/c2b/{slug}/…/validate")


def _recheck(kit: OperatorKit, slug: str, public_url: str | None) -> None:
    import httpx
    from sqlalchemy import select

    from payments.base import ProviderError
    from payments.mpesa import c2b_check
    from payments.mpesa.tables import C2BReceipt

    base = kit.public_url(public_url)
    if base is None:
        kit.refuse("Daraja needs a public URL to answer: set DUKABOT_PUBLIC_URL or give --public-url")

    async def work(session: OperatorSession) -> tuple[int, list[str]]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            provider = await _mpesa(session, slug, base, http)
            if provider is None or not provider.settings.confirms_receipts:
                kit.refuse(f"{slug!r} has no M-Pesa initiator credentials: nothing is confirmed by Transaction Status")
            tenant = await session.tenant(slug)
            waiting = list(
                await session.session.scalars(
                    select(C2BReceipt)
                    .where(C2BReceipt.tenant_id == tenant.id, C2BReceipt.status == c2b_check.WAITING)
                    .order_by(C2BReceipt.id)
                )
            )
            refused = []
            for receipt in waiting:
                try:
                    await provider.check_receipt(receipt.receipt, receipt.check_token or "")
                except ProviderError as exc:
                    refused.append(f"{receipt.receipt}: {exc.code}")
            return len(waiting) - len(refused), refused

    asked, refused = kit.run(work)
    kit.done(f"Asked Daraja about the waiting Paybill payments of {slug!r} (count: {asked}); the answers settle them.")
    for line in refused:
        click.echo(f"  not asked: {line}")
