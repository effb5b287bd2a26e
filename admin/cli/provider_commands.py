"""``dukabot provider``: setting a shop's payment methods, and registering its M-Pesa C2B URLs with Daraja."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings, load_vault
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["PROVIDER_NAMES", "provider"]

# The keys of admin.shops.PROVIDERS, written out so that `--help` does not import the payment code to list them
# (tests/unit/test_cli_imports.py checks that the two agree).
PROVIDER_NAMES = ("mpesa", "paystack", "manual")

_PROMPTS = {
    "consumer_key": "M-Pesa consumer key",
    "consumer_secret": "M-Pesa consumer secret",
    "passkey": "M-Pesa passkey",
    "secret_key": "Paystack secret key",
}


@click.group()
def provider() -> None:
    """Payment methods of a shop: mpesa, paystack, manual."""


@provider.command("set")
@click.argument("slug")
@click.argument("provider_name", metavar="PROVIDER", type=click.Choice(PROVIDER_NAMES, case_sensitive=False))
@click.option(
    "--consumer-key",
    metavar="K",
    envvar="DUKABOT_MPESA_CONSUMER_KEY",
    show_envvar=True,
    help="mpesa: Daraja app consumer key.",
)
@click.option(
    "--consumer-secret",
    metavar="S",
    envvar="DUKABOT_MPESA_CONSUMER_SECRET",
    show_envvar=True,
    help="mpesa: Daraja app consumer secret.",
)
@click.option(
    "--passkey", metavar="P", envvar="DUKABOT_MPESA_PASSKEY", show_envvar=True, help="mpesa: Lipa Na M-Pesa passkey."
)
@click.option("--shortcode", metavar="N", help="mpesa: the Paybill number, or the till's store number.")
@click.option("--till", metavar="N", help="mpesa: the Buy Goods till number, when payments go to a till.")
@click.option(
    "--c2b-version",
    type=click.Choice(["v1", "v2"]),
    help="mpesa: the C2B API version of the Paybill fallback.",
)
@click.option(
    "--secret-key",
    metavar="K",
    envvar="DUKABOT_PAYSTACK_SECRET_KEY",
    show_envvar=True,
    help="paystack: secret key, sk_test_... or sk_live_...",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="mpesa, paystack: another API host (a sandbox, a simulator, a test double).",
)
@click.option(
    "--instructions", metavar="TEXT", help="manual: how customers pay by hand (bank, till, cash on delivery)."
)
@click.option("--test-consumer-key", metavar="K", help="mpesa: the shop's own sandbox app, used in test mode.")
@click.option("--test-consumer-secret", metavar="S", help="mpesa: the shop's own sandbox app, used in test mode.")
@click.option("--test-passkey", metavar="P", help="mpesa: the sandbox passkey of --option test_shortcode=N.")
@click.option("--test-secret-key", metavar="K", help="paystack: an sk_test_ key, used while the shop is in test mode.")
@click.option(
    "--security-credential",
    metavar="C",
    envvar="DUKABOT_MPESA_SECURITY_CREDENTIAL",
    show_envvar=True,
    help="mpesa: the initiator's encrypted password (with --option initiator_name=NAME): each C2B receipt is "
    "then confirmed with Daraja's Transaction Status before its order is paid.",
)
@click.option(
    "--option",
    "extra",
    metavar="KEY=VALUE",
    multiple=True,
    help="Further settings, repeatable. mpesa: c2b_validation=on|off, ip_allowlist=safaricom|off|IP[/N],... "
    "(default for a live shop: safaricom), trusted_proxies=IP,..., test_shortcode=N, test_till=N, "
    "initiator_name=NAME (with --security-credential). paystack: channels=card,mobile_money,..., "
    "ask_email=on|off, email_domain=DOMAIN.",
)
@click.pass_context
def provider_set(
    ctx: click.Context, /, slug: str, provider_name: str, extra: tuple[str, ...], **values: str | None
) -> None:
    """Set how customers of shop SLUG pay. PROVIDER is mpesa, paystack or manual.

    \b
      mpesa     --consumer-key K --consumer-secret S --shortcode N --passkey P
                [--till N] [--base-url URL] [--c2b-version v1|v2]
      paystack  --secret-key K [--base-url URL]
      manual    --instructions TEXT

    Secrets are stored encrypted. Leave a secret option out to be asked for it with hidden input, or set its
    environment variable, so that it stays out of your shell history. Setting a provider again replaces all of its
    previous settings and enables it.
    """
    from admin import shops

    name = provider_name.lower()
    spec = shops.PROVIDERS[name]
    accepted = set(spec.secrets) | set(spec.options)
    for pair in extra:
        key, equals, setting = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise click.UsageError(f"--option takes KEY=VALUE, not {pair[:40]!r}", ctx)
        if key in values:
            raise click.UsageError(f"give {key} as --{key.replace('_', '-')}, not as --option", ctx)
        if key not in spec.options:
            raise click.UsageError(f"{name} has no option {key!r}; it takes {', '.join(spec.options)}", ctx)
        values[key] = setting
    for param, value in values.items():
        given_here = ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE
        if value is not None and given_here and param not in accepted:
            raise click.UsageError(f"--{param.replace('_', '-')} is not an option of {name}", ctx)
    for key in spec.required_options:
        if values.get(key) is None:
            raise click.UsageError(f"{name} needs --{key.replace('_', '-')}", ctx)

    secrets: dict[str, str] = {}
    for key in spec.required_secrets:
        value = values.get(key)
        if not value:
            value = click.prompt(_PROMPTS.get(key, key), hide_input=True)
        secrets[key] = str(value)
    secrets.update({key: str(values[key]) for key in spec.optional_secrets if values.get(key)})
    options = {key: values.get(key) for key in spec.options if values.get(key) is not None}

    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        config = await shops.set_provider(session, vault, slug, name, secrets, options, SystemClock().now())
        return dict(config.options)

    stored = in_unit_of_work(settings, work)
    echo_ok(f"{spec.title} is set for {slug!r}.")
    for key, value in sorted(stored.items()):
        shown = str(value).replace("\n", " / ")
        click.echo(f"  {key}: {shown}")
    if secrets:
        click.echo(f"  secrets stored encrypted: {', '.join(sorted(secrets))}")


@provider.command("register-c2b")
@click.argument("slug")
@click.option(
    "--public-url",
    metavar="URL",
    help="Where Daraja should send the payments (default: DUKABOT_PUBLIC_URL).",
)
def provider_register_c2b(slug: str, public_url: str | None) -> None:
    """Register the M-Pesa C2B URLs of shop SLUG with Daraja (the Paybill fallback).

    Customers who pay the shop's Paybill with the order code as the account number are then matched to their
    orders. The URLs carry a random secret of the shop's own, made now if it has none. Uses the shop's C2B version
    (--c2b-version of `provider set`, v2 by default). In production Daraja registers URLs once: to change them,
    delete them in the M-Pesa portal first.
    """
    _register_c2b(slug, public_url, rotate=False)


@provider.command("rotate-c2b")
@click.argument("slug")
@click.option(
    "--public-url",
    metavar="URL",
    help="Where Daraja should send the payments (default: DUKABOT_PUBLIC_URL).",
)
def provider_rotate_c2b(slug: str, public_url: str | None) -> None:
    """Give shop SLUG a new C2B URL secret and register the new URLs with Daraja.

    The old URLs stop working at once (404). If Daraja refuses the new URLs, nothing changes and the old ones stay.
    In production Daraja registers URLs once: delete the shop's URLs in the M-Pesa portal first.
    """
    _register_c2b(slug, public_url, rotate=True)


def _register_c2b(slug: str, public_url: str | None, *, rotate: bool) -> None:
    import httpx

    from admin import shops
    from payments.base import ProviderError
    from payments.mpesa.c2b import c2b_urls
    from payments.mpesa.provider import MpesaProvider
    from payments.providers import provider_factories
    from payments.registry import ProviderDeps, ProviderRegistry

    settings = load_settings()
    vault = load_vault(settings)
    base = (public_url or settings.public_url or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise CliError("Daraja needs a public URL to call: set DUKABOT_PUBLIC_URL or give --public-url")

    async def work(session: AsyncSession) -> tuple[str, str]:
        tenant = await shops.require_tenant(session, slug)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            registry = ProviderRegistry(vault, ProviderDeps(http, SystemClock(), base), provider_factories())
            provider = await registry.for_tenant(session, tenant, "mpesa")
            if not isinstance(provider, MpesaProvider):
                raise CliError(f"M-Pesa is not set for {slug!r}: dukabot provider set {slug} mpesa ...")
            if provider.settings.paybill is None:
                raise CliError("this shop takes M-Pesa to a till; the Paybill fallback needs a Paybill")
            secret = await shops.c2b_secret(session, vault, slug, SystemClock().now(), rotate=rotate)
            confirmation, validation = c2b_urls(base, slug, secret)
            try:
                answer = await provider.register_c2b(confirmation, validation)
            except ProviderError as exc:  # the unit of work is not committed: a new secret is not kept
                raise CliError(str(exc)) from None
            return answer, f"{provider.settings.shortcode} (C2B {provider.settings.c2b_version})"

    answer, what = in_unit_of_work(settings, work)
    echo_ok(f"C2B URLs {'rotated and ' if rotate else ''}registered for {slug!r}, shortcode {what}: {answer}")
    click.echo(f"  confirmation: {base}/pay/c2b/{slug}/…/confirm")
    click.echo(f"  validation:   {base}/pay/c2b/{slug}/…/validate")


@provider.command("recheck-c2b")
@click.argument("slug")
@click.option(
    "--public-url",
    metavar="URL",
    help="Where Daraja should send its answers (default: DUKABOT_PUBLIC_URL).",
)
def provider_recheck_c2b(slug: str, public_url: str | None) -> None:
    """Ask Daraja again about shop SLUG's Paybill payments still waiting for Transaction Status.

    Daraja does not resend a lost answer: run this when a payment stays "being confirmed". Each answer settles its
    payment once, however many times it is asked.
    """
    import httpx
    from sqlalchemy import select

    from admin import shops
    from core.db.tables import C2BReceipt
    from payments.base import ProviderError
    from payments.mpesa import c2b_check
    from payments.mpesa.provider import MpesaProvider
    from payments.providers import provider_factories
    from payments.registry import ProviderDeps, ProviderRegistry

    settings = load_settings()
    vault = load_vault(settings)
    base = (public_url or settings.public_url or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise CliError("Daraja needs a public URL to answer: set DUKABOT_PUBLIC_URL or give --public-url")

    async def work(session: AsyncSession) -> tuple[int, list[str]]:
        tenant = await shops.require_tenant(session, slug)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            registry = ProviderRegistry(vault, ProviderDeps(http, SystemClock(), base), provider_factories())
            provider = await registry.for_tenant(session, tenant, "mpesa")
            if not isinstance(provider, MpesaProvider) or not provider.settings.confirms_receipts:
                raise CliError(
                    f"{slug!r} has no M-Pesa initiator credentials: nothing is confirmed by Transaction Status"
                )
            waiting = list(
                await session.scalars(
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

    asked, refused = in_unit_of_work(settings, work)
    echo_ok(f"Asked Daraja about the waiting Paybill payments of {slug!r} (count: {asked}); the answers settle them.")
    for line in refused:
        click.echo(f"  not asked: {line}")
