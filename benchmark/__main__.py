"""`python -m benchmark` is the same as the `spurbench` command."""

from benchmark.cli import main

if __name__ == "__main__":  # guarded: spawned worker processes re-import this module
    raise SystemExit(main())
