"""The interface: what a user calls, from Python or the shell.

`api` is the public Python API the package re-exports as `spurbench.run`, `spurbench.compare`, ...;
`cli` is the `spurbench` command (and `python -m spurbench`); `check` is `spurbench check-model`
and `spurbench.check_model`; `inspection` backs `spurbench sample` and `spurbench explain`.

Layer: the top one. It may import every other package (`harness`, `report`, `evaluation`, `models`,
`generators`, `registry`, `errors`); nothing outside it imports it except the package's own
`__init__` and `__main__` (tests/test_layout.py).
"""
