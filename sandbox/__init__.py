"""Everything that stands in for the outside world, kept apart from the product: the fake Telegram Bot API
(``sandbox.telegram``), one simulator per payment provider (``sandbox.<name>``), the registry
that finds a provider's simulator by name (``sandbox.registry``) and the offline playground (``sandbox.playground``).

The product (core, payments, flows, admin, bot, webhooks) never imports this package: ``dukabot playground`` loads it
by name at run time. A simulator imports from the product only its provider's wire types and pure helpers, so it
speaks the provider's protocol without sharing the code it is meant to test (tests/unit/test_sandbox_apart.py).
"""
