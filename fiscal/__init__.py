"""Fiscal integrations: what a shop reports to a tax authority for each sale (eTIMS for a Kenyan VAT shop).

Import direction: ``core <- payments <- fiscal <- webhooks`` (the composition root) and the CLI. Fiscal work runs as
payment jobs (``payments.jobs``, kind ``fiscal.<authority>``), owed by ``payments.fiscal_hook`` in the transaction
that paid or refunded the order, so payments never import this package and name no authority. An integration is one
folder (``fiscal/<name>/``) plus one line in :mod:`fiscal.registry`, like a payment provider; what the receipt
prints of it is ``core.fiscal_stamp.FiscalStamp``."""
