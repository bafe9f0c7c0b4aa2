"""`python -m nono` runs the CLI."""

from nono.cli import main

raise SystemExit(main())
