"""The texts of Telegram Payments: its payment button, the invoice messages, pre-checkout refusals and refunds."""
