"""Top-level files of the demo repository: README, CI workflow, docs, .gitignore."""

from __future__ import annotations

from stager.demo.edits import replace_once

GITIGNORE = """\
__pycache__/
*.pyc
.venv/
node_modules/
frontend/dist/
.env
"""

README = """\
# Fuel credits

Tracks low carbon fuel compliance reports and the credits organizations
trade with each other.

- `backend/`: FastAPI + SQLAlchemy, PostgreSQL, Alembic migrations
- `frontend/`: React (Vite)

## Development

```
cd backend && pip install -e '.[dev]' && alembic upgrade head && pytest
cd frontend && npm install && npm run dev
```
"""

README_WITH_ETL = (
    replace_once(
        README,
        "- `frontend/`: React (Vite)\n",
        "- `frontend/`: React (Vite)\n"
        "- `etl/python_migration/`: one-off import of the legacy system's records\n",
    )
    + """
## Legacy data import

The import runs once, in a maintenance window; see `docs/etl.md`.
"""
)

DOCS_ETL = """\
# Importing the legacy system's records

1. Back up the database: `pg_dump -Fc fuelcredits > before-etl.dump`.
2. Upgrade the schema up to the backfill, not further:
   `alembic upgrade c7a9e1b3d5f7`.
3. Run the import: `cd etl/python_migration && make dry-run && make migrate`.
4. Check the record counts against the legacy system.
5. Drop the legacy columns: `alembic upgrade head` (revision 4f6a8c0e2a4c).

Rollback: restore `before-etl.dump`; the contract revision's downgrade only
restores the values the snapshot kept.
"""

CI = """\
name: ci

on:
  pull_request:
  push:
    branches: [main]

jobs:
  backend:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_USER: fuelcredits
          POSTGRES_PASSWORD: fuelcredits
          POSTGRES_DB: fuelcredits
        ports: ["5432:5432"]
        options: >-
          --health-cmd pg_isready --health-interval 5s --health-timeout 5s --health-retries 10
    defaults:
      run:
        working-directory: backend
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -e '.[dev]'
      - run: alembic upgrade head && alembic downgrade base && alembic upgrade head
      - run: pytest

  frontend:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: frontend
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm install
      - run: npm test
"""

CI_WITH_ETL = (
    CI
    + """
  etl:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -e './backend[etl]' ruff
      - run: ruff check etl/
      - run: python -m compileall -q etl/
"""
)
