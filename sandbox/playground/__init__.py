"""``dukabot playground``: the whole product on one machine, with no accounts and no network (``run.py``).

The CLI loads this package by name (``importlib``), so the product carries no import of the sandbox.
"""

from sandbox.playground.run import run_playground

__all__ = ["run_playground"]
