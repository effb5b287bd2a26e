"""The texts of Stripe payments, one JSON file per language (see :func:`core.texts.register_catalog`)."""
