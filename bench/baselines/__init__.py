"""The baselines dukabot is measured against, each a server of its own run by ``python -m bench.baselines.NAME``,
pinned and loaded exactly as dukabot's server is: a bare aiohttp JSON handler (``bare``), the naive
one-transaction-per-callback design (``naive``) and aiogram's webhook echo bot (``echo``)."""
