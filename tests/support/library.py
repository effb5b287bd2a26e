"""The Telegram library (``DUKABOT_TELEGRAM_LIBRARY``) of the servers and processes the running test starts: the
``telegram_library`` fixture of tests/conftest.py sets it, once per library for the suites marked ``every_channel``."""

LIBRARY = {"name": "aiogram"}
