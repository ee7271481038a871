"""``python -m funding_engine.cli``: the same as the ``funding-engine`` command."""

from funding_engine.cli.commands import main

raise SystemExit(main())
