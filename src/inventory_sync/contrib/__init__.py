"""Integrations with web frameworks, each an optional extra: `inventory-sync[django]`."""
