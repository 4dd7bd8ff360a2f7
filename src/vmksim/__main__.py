"""``python -m vmksim`` runs the command-line interface."""

from vmksim.cli import main

raise SystemExit(main())
