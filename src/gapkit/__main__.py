"""``python -m gapkit`` runs the CLI (the same as the ``gapkit`` console script)."""

from gapkit.cli import main

main()
