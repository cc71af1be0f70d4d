"""Entrypoints: the run loop, the CLI, the container and the library facade."""
