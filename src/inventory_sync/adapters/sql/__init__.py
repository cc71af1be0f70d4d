"""The ports over SQLAlchemy: tables, repository, unit of work and the shipped migrations.

Nothing is imported here, so that importing the package stays cheap; import the modules.
"""
