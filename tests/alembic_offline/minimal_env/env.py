"""An Alembic environment for projects that keep only revision files: offline, PostgreSQL.

The offline check points ``script_location`` here and ``version_locations`` at
the checkout's revisions, so a fixture without an env.py of its own still runs
through real Alembic.
"""

from alembic import context

context.configure(
    url=context.config.get_main_option("sqlalchemy.url"),
    literal_binds=True,
    dialect_opts={"paramstyle": "named"},
)
with context.begin_transaction():
    context.run_migrations()
