"""Notification channels beyond the chat, one folder each, like a provider: ``sms`` (Africa's Talking) and ``email``
(SMTP). Each folder holds its settings, its sender (a ``core.channels.ChannelSender``) and what it knows of its wire.

Where it sits: ``core <- payments <- notify``, beside ``fiscal``; ``admin`` (the CLI) and ``webhooks`` (the
composition root, the delivery-report route, ``doctor``) import it, and nothing below them does. Payments owe the
copies of a receipt by channel name alone (``payments.receipt_copies``), in the payment's own transaction; the relay
hands a row owed on a channel to that channel's sender (``core.channels``). ``registry.py`` lists the channels.
"""
