"""The Alembic environment and revisions of the owned schema, shipped inside the package."""
