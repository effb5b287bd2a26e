"""The texts of Flutterwave: its payment button, started messages, return page, refunds and reviews."""
