"""`python -m spurbench` is the same as the `spurbench` command."""

from spurbench.interface.cli import main

if __name__ == "__main__":  # guarded: spawned worker processes re-import this module
    raise SystemExit(main())
