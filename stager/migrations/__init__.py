"""Alembic migrations, read as data: discovery, AST parsing, revision graph.

Nothing in this package imports or executes a file of the analysed repository.
"""
