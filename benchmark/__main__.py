"""`python -m benchmark` is the same as the `spurbench` command."""

from benchmark.cli import main

raise SystemExit(main())
