"""Evaluation: how a fit is scored, as pure functions of arrays and frames.

Here live the metrics (`metrics`), feature importance and the spurious share (`importance`), EM
prior adaptation (`adaptation`), degenerate-fit flags (`fit_checks`), the model-selection protocols
(`selection`), population worst-group accuracy for the phase diagram (`population`) and the one
rule for standardising a feature (`scaling`, which generators and models use too).

Layer: imports numpy, scipy, scikit-learn and pandas only, and of spurbench at most `errors` and
`registry` (tests/test_layout.py checks it): generators, models, the harness, the report and the
interface all build on these functions, so nothing here may know about them.
"""
