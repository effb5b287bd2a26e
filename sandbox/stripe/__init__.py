"""A Stripe that runs on this machine (the sandbox): its API, its hosted Checkout page and its signed webhooks."""
