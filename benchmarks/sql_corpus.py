"""A folder of plain SQL migrations shaped like a real project's, for `bench_lint.py`.

Flyway names (``V0001__create_orders.sql``). As in a project a few years old:
the first file is the big initial schema (tens of tables), then mostly small
files, each one change a developer made: a table with its indexes and foreign
keys, columns added, indexes (some CONCURRENTLY, alone in their file), a
backfill, a view, a trigger function, an enum value, grants, a drop.
Deterministic: the same seed writes the same files.
"""

from __future__ import annotations

import random
from pathlib import Path

TABLE = """CREATE TABLE {t} (
    id bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organization (id),
    name varchar(200) NOT NULL,
    status text NOT NULL DEFAULT 'draft',
    amount numeric(12, 2),
    payload jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz
);
CREATE INDEX ix_{t}_organization ON {t} (organization_id);
COMMENT ON TABLE {t} IS 'Generated table {t}';
"""

CHANGES = [
    ("create_{t}", TABLE),
    (
        "add_{c}_to_{t}",
        "ALTER TABLE {t} ADD COLUMN {c} varchar(50);\n"
        "ALTER TABLE {t} ADD COLUMN {c}_at timestamptz DEFAULT now();\n",
    ),
    ("index_{t}_{c}", "CREATE INDEX CONCURRENTLY ix_{t}_{c} ON {t} (name, created_at);\n"),
    (
        "unique_{t}_{c}",
        "SET lock_timeout = '5s';\n"
        "CREATE UNIQUE INDEX ux_{t}_{c} ON {t} (organization_id, name);\n",
    ),
    (
        "backfill_{t}",
        "UPDATE {t} SET status = 'active' WHERE status = 'draft' AND created_at < now() - "
        "interval '30 days';\nUPDATE {t} SET updated_at = created_at WHERE updated_at IS NULL;\n",
    ),
    (
        "fk_{t}_{c}",
        "ALTER TABLE {t} ADD COLUMN {c}_id bigint;\n"
        "ALTER TABLE {t} ADD CONSTRAINT fk_{t}_{c} FOREIGN KEY ({c}_id) REFERENCES organization "
        "(id) NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT fk_{t}_{c};\n",
    ),
    (
        "view_{t}",
        "CREATE OR REPLACE VIEW {t}_summary AS\n    SELECT organization_id, count(*) AS n, "
        "sum(amount) AS total\n    FROM {t}\n    WHERE status <> 'deleted'\n"
        "    GROUP BY organization_id;\n",
    ),
    (
        "touch_{t}",
        "CREATE OR REPLACE FUNCTION touch_{t}() RETURNS trigger AS $$\nBEGIN\n"
        "    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "CREATE TRIGGER trg_touch_{t} BEFORE UPDATE ON {t}\n"
        "    FOR EACH ROW EXECUTE FUNCTION touch_{t}();\n",
    ),
    ("status_{v}", "ALTER TYPE report_status ADD VALUE IF NOT EXISTS '{v}';\n"),
    (
        "not_null_{t}_{c}",
        "ALTER TABLE {t} ALTER COLUMN name SET NOT NULL;\n"
        "ALTER TABLE {t} ALTER COLUMN amount TYPE numeric(14, 2);\n",
    ),
    (
        "grants_{t}",
        "GRANT SELECT ON {t} TO reporting;\nGRANT SELECT, INSERT, UPDATE ON {t} TO app;\n",
    ),
    (
        "seed_{t}",
        "INSERT INTO {t} (organization_id, name, status) VALUES\n"
        + ",\n".join(f"    (1, 'seed {n}', 'active')" for n in range(12))
        + ";\n",
    ),
    ("drop_{c}_from_{t}", "ALTER TABLE {t} DROP COLUMN IF EXISTS {c};\n"),
    ("rename_{t}_{c}", "ALTER TABLE {t} RENAME COLUMN payload TO {c}_payload;\n"),
]

INITIAL = (
    "CREATE TYPE report_status AS ENUM ('draft', 'submitted', 'assessed');\n"
    "CREATE TABLE organization (\n    id bigserial PRIMARY KEY,\n    name text NOT NULL\n);\n"
)


def generate(folder: Path, count: int, seed: int = 16) -> list[Path]:
    """Write ``count`` SQL migration files into ``folder``; their paths, in version order."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    initial = INITIAL + "".join(TABLE.format(t=f"table_{n}") for n in range(40))
    paths = [folder / "V0001__initial_schema.sql"]
    paths[0].write_text(initial)
    weights = [6, 8, 6, 2, 4, 3, 2, 2, 2, 3, 2, 2, 2, 1]
    for number in range(2, count + 1):
        name, body = rng.choices(CHANGES, weights)[0]
        words = {
            "t": f"table_{rng.randrange(40 + number // 8)}",
            "c": f"col_{number}",
            "v": f"state_{number}",
        }
        if name.startswith("create_"):
            words["t"] = f"table_{40 + number // 8}_{number}"
        path = folder / f"V{number:04d}__{name.format(**words)}.sql"
        path.write_text(f"-- {name.format(**words).replace('_', ' ')}\n" + body.format(**words))
        paths.append(path)
    return paths
