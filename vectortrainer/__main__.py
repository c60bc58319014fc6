"""`python -m vectortrainer` runs the command line."""

from vectortrainer.cli import main

raise SystemExit(main())
