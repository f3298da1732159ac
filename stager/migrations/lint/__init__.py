"""Migration risk rules (``SM001``…): every ``op.*`` call and SQL statement checked.

The rules are written against :mod:`stager.migrations.actions`, the one vocabulary
of what an operation does, so the same change written either way meets the same rule.

* :mod:`stager.rules.catalogue` — the registry of every rule: id, risk, title,
  hint (docs/rules.md has a section for each);
* :mod:`.envpy` — what env.py says about transactions and lock_timeout;
* :mod:`.checks` — the rules themselves, per file and over an upgrade path;
* :mod:`.engine` — inline ignores, rules.toml settings, and the entry points
  for ``stager lint`` and ``stager analyze``.

Nothing here imports pglast at module level: only literal SQL pays for it.
"""
