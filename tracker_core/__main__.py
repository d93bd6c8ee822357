"""``python -m tracker_core`` runs the ``cursor-tracker`` command."""

from tracker_core.cli.main import main

raise SystemExit(main())
