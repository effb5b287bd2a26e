"""The catalogs and the code agree: every text key the code renders is in the catalogs, and every catalog key is
rendered by some code. CI fails on either, so a text can neither go missing at runtime nor rot in the catalogs.

The code is read as Python (``ast``), not as text: a key is used when it appears as a string literal anywhere in
the product packages and the sandbox (a key is often kept in a constant or a table before it is rendered). A key
built at runtime is an f-string or a ``str.format`` template; each such shape, with its parts in braces written
``{}``, is listed below in :data:`DYNAMIC`, with what fills it, and every catalog key it fits counts as used. A new
shape fails here until it is listed, and a listed shape no code builds any more fails too.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

import fiscal.overdue  # noqa: F401 - registers the fiscal integrations' catalog with core.texts
import payments.providers  # noqa: F401 - registers the providers' catalogs with core.texts
from core import texts

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "payments", "fiscal", "notify", "flows", "bot", "admin", "webhooks", "sandbox")
# Functions whose first argument is a text key: core.texts and FlowContext (t, tn), and the errors and buttons that
# carry a key to be rendered in the reader's language.
RENDERERS = frozenset(
    {"text", "plural", "has", "t", "tn", "catalog_text", "LinkButton", "PhoneError", "MpesaPhoneError"}
)
_KEY_LIKE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
# What fills a ``{}`` of a dynamic key: a provider's name, a status, a period, a region ("KE"), a refund status
# ("needs-attention") or an audit action ("order.shipped": at most one dot).
_PART = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?"

# Keys built at runtime, by their shape: what fills each ``{}``.
DYNAMIC: dict[str, str] = {
    "provider.{}": "a provider's display name, by its registry name",
    "method.{}": "a payment method's button label, by provider name",
    "testmode.hint.{}": "a provider's test-mode hint",
    "{}.not_offered.{}": "why a provider's method is not offered now",
    "{}.superseded": "a provider's word for an attempt replaced by a newer one",
    "{}.replaced": "a provider's chat step: its attempt was replaced",
    "{}.why.replaced": "a provider's chat step: why it was replaced",
    "{}.why.replaced_unanswered": "a provider's chat step: replaced while unanswered",
    "{}.channel.{}": "a provider's own word for a payment channel (card, mobile money)",
    "{}.start_failed.{}": "a provider's own wording of a start failure, by reason",
    "start_failed.{}": "the shared wording of a start failure, by reason (payments.starter.START_FAILED_REASONS)",
    "payment.{}": "an attempt's end, by payment status",
    "order.status.{}": "an order's status, by OrderStatus",
    "orders.payment.status.{}": "a payment's status on the order card",
    "orders.ship.refused.{}": "why an order in this status cannot ship",
    "orders.event.{}": "a payment event on the order's history, by outcome",
    "orders.event.{}_amount": "a payment event with an amount",
    "orders.event.result.{}": "what a payment event did",
    "orders.audit.{}": "a merchant action on the order's history",
    "orders.message.{}": "a message to the customer on the order's history, by outbox status",
    "orders.message.to_{}": "whom an order's message went to",
    "{}.orders.receipt": "a provider's receipt number label on the order card",
    "{}.orders.reference": "a provider's reference label on the order card",
    "{}.started": "a hosted-link provider's link sent (payments.hosted_link.link_started)",
    "{}.started_test": "a hosted-link provider's link sent in test mode",
    "{}.button_pay": "a hosted-link provider's pay button",
    "return.{}": "the hosted return page's words (payments.return_page), by part",
    "{}.return.{}": "a provider's own wording of a return page part",
    "stripe.return.title.{}": "Stripe's onboarding return page, by state",
    "stripe.return.body.{}": "Stripe's onboarding return page, by state",
    "pdf.column.{}": "a PDF receipt's column heading",
    "telegram.started.{}": "a Telegram invoice sent, by kind (stars, card)",
    "telegram.started.{}_test": "a Telegram invoice sent in test mode, by kind",
    "paypal.{}": "a PayPal refusal code",
    "paystack.{}": "a Paystack refusal code",
    "{}.refused.{}": "why a hosted-link provider refused a start (payments.hosted_chat)",
    "{}.button_other_method": "a hosted-link provider's way back to the other methods",
    "jobs.{}.sending": "a hosted-link provider's start on its way",
    "feexpay.refused.{}": "why FeexPay refused a start",
    "mpesa.ended.{}": "how an M-Pesa push ended",
    "mpesa.why.{}": "why an M-Pesa push failed, by Daraja's result code's reason (payments.mpesa.messages)",
    "mpesa.c2b.{}": "an M-Pesa paybill check's finding",
    "{}.asked": "Stripe Connect: the question asked, by kind",
    "{}.refund.not_configured": "a provider that cannot refund here",
    "{}.refund.merchant.unconfirmed": "a provider's refund the merchant must confirm",
    "{}.refund.merchant.unresolved": "a provider's refund that stayed unresolved",
    "{}.refund.merchant.{}": "a provider's refund news for the merchant, by status",
    "{}.refund.made_elsewhere": "a refund made outside dukabot",
    "{}.refund.how": "how a provider's refund is made",
    "{}.refund.requested": "a provider's refund requested",
    "refund.{}": "a refund's state for the customer and merchant",
    "{}.review.disagrees": "a provider's lookup disagrees with a held payment",
    "{}.review.missing": "a provider's lookup found no such payment",
    "{}.review.unavailable": "a provider's lookup could not be made",
    "{}.review.not_found": "a provider's lookup found nothing",
    "{}.catalog.off_step": "a provider's catalog step that is off",
    "admin.menu.sales_{}": "the menu's sales buttons, by period (admin.sales.PERIODS)",
    "admin.sales.period_{}": "a sales report's period",
    "admin.usage.{}": "/approve and /reject without arguments",
    "admin.invite.{}": "why a /join code was refused",
    "admin.proof.decided_{}": "a proof decided, by its new status",
    "admin.proof.already_{}": "a proof already decided, by status",
    "proof.{}": "a proof's decision, told to the customer",
    "admin.sandbox.{}": "a provider's sandbox note in /testmode",
    "promo.status.{}": "a promo code's status (active, paused, ended)",
    "promo.bad.{}": "why a /promo or `dukabot promo` argument was refused",
    "promo.done.{}": "a promo code paused, resumed or ended",
    "promo.button.{}": "the /promo list's buttons, by action",
    "promo.refused.{}": "why a customer's promo code was refused (core.promos.Refusal)",
    "outbox.coalesced.{}": "the header of alerts sent together, by coalescing name (core.coalesce)",
}


# Shapes the code builds that happen to fit a catalog key but build no key: what they build, instead.
NOT_KEYS = {
    "{}.amount": "a wire field's path in a parse error (payments/*/wire.py)",
    "promo.{}": "a merchant action's name in the audit log (admin/promos.py)",
}


@cache
def _sources() -> tuple[tuple[Path, ast.Module], ...]:
    """Every module of the product and the sandbox, parsed once for all the checks."""
    return tuple(
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    )


def _shape(node: ast.JoinedStr) -> str:
    return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


@cache
def _pattern(shape: str) -> re.Pattern[str]:
    return re.compile(_PART.join(re.escape(part) for part in shape.split("{}")))


@cache
def _literals_and_shapes() -> tuple[set[str], set[str]]:
    """Every string literal of the code, and the shape of every f-string or format template that may build a key."""
    literals: set[str] = set()
    shapes: set[str] = set()
    for _, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                shapes.add(_shape(node))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant):
                if isinstance(node.left.value, str):
                    shapes.add(node.left.value + "{}")  # "mpesa.why." + reason
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
                if "{" in node.value:  # a str.format template ("outbox.coalesced.{name}")
                    shapes.add(re.sub(r"\{[^{}]*\}", "{}", node.value))
    return literals, shapes


def _key_shapes(shapes: set[str]) -> set[str]:
    """The shapes that build a catalog key: those that fit at least one."""
    keys = texts.keys()
    return {
        shape
        for shape in shapes
        if "{}" in shape
        and re.search(r"[a-z]\w*\.|\.\w*[a-z]", shape.replace("{}", ""))  # not "{}.{}" (prefix.version), "{}h"
        and any(_pattern(shape).fullmatch(key) for key in keys)
    }


def test_every_key_the_code_renders_is_in_the_catalogs() -> None:
    missing = []
    keys = texts.keys()
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if name not in RENDERERS or not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                continue
            if _KEY_LIKE.fullmatch(first.value) and first.value not in keys:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {first.value!r}")
    assert missing == [], "keys rendered by the code but in no English catalog:\n" + "\n".join(missing)


def _product_keys() -> set[str]:
    """The catalogs' keys, without those of packages a test registered (tests/contract's linkpay)."""
    return set().union(*(texts.keys_of(package) for package in texts.registered() if not package.startswith("tests.")))


def test_every_catalog_key_is_used_by_the_code() -> None:
    literals, _ = _literals_and_shapes()
    patterns = [_pattern(shape) for shape in DYNAMIC]
    catalog = _product_keys()
    unused = sorted(
        key for key in catalog if key not in literals and not any(pattern.fullmatch(key) for pattern in patterns)
    )
    assert unused == [], "catalog keys no code uses (remove them, or list the shape that builds them):\n" + "\n".join(
        unused
    )


def test_the_dynamic_shapes_are_those_the_code_builds() -> None:
    """A key built at runtime in a new shape must be listed (so its keys count as used on purpose); a listed shape
    no code builds any more must go (or the keys it covered would pass unused)."""
    _, shapes = _literals_and_shapes()
    built = _key_shapes(shapes) - NOT_KEYS.keys()
    assert sorted(built - DYNAMIC.keys()) == [], "dynamic key shapes to list in DYNAMIC, with what fills them"
    assert sorted(DYNAMIC.keys() - built) == [], "DYNAMIC lists shapes no code builds any more"


@pytest.mark.parametrize("shape", sorted(DYNAMIC))
def test_each_dynamic_shape_fits_catalog_keys(shape: str) -> None:
    catalog = texts.keys()
    fitting = [key for key in catalog if _pattern(shape).fullmatch(key)]
    assert fitting != [], f"no catalog key fits {shape!r}"
