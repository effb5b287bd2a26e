"""Africa's Talking's SMS API on this machine (``simulator``), for the tests and the playground."""
