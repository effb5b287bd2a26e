"""Hypothesis profiles for the hostile-input suite, chosen by ``DUKABOT_HYPOTHESIS_PROFILE``:

- ``default`` (the normal test run): a bounded number of examples per test, fewer on PostgreSQL (see
  ``examples``), no example database (nothing written into the work tree);
- ``fuzz`` (``make fuzz``): 100,000 examples per test (``DUKABOT_FUZZ_EXAMPLES`` to change it), failures kept in
  ``var/hypothesis`` to be replayed.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# One server serves every example of a test (starting one per example would take the whole budget), and bodies
# are large on purpose (deep JSON, bombs).
_SHARED = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("default", max_examples=300, database=None, **_SHARED)  # type: ignore[arg-type]
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("DUKABOT_FUZZ_EXAMPLES", "100000")),
    database=DirectoryBasedExampleDatabase("var/hypothesis"),
    **_SHARED,  # type: ignore[arg-type]
)


def profile() -> str:
    return os.environ.get("DUKABOT_HYPOTHESIS_PROFILE", "default")


settings.load_profile(profile())
