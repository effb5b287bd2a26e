"""The texts of Corefy: its payment button, started messages, return page and refunds."""
