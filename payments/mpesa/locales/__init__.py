"""The texts of mpesa payments, one JSON file per language (see :func:`core.texts.register_catalog`)."""
