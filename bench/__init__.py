"""Benchmarks. Each measures dukabot against a baseline in the same run and reports the ratio; never part of the
test run."""
