"""Everything that stands in for the outside world, kept apart from the product: the fake Telegram Bot API
(``sandbox.telegram``), one simulator per payment provider (``sandbox.mpesa``, ``sandbox.paystack``) and the offline
playground (``sandbox.playground``). The product (core, payments, flows, admin, bot, webhooks) never imports this
package: ``dukabot playground`` loads it by name at run time.
"""
