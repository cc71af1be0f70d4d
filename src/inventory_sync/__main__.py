"""`python -m inventory_sync` runs the CLI."""

from inventory_sync.entrypoints.cli import main

main()
