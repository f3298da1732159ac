"""A real PostgreSQL for ``verify --database``: a throwaway server or a fresh database on one.

Below ``commands/``: it starts a server (``server.py``) from the system's binaries
(``binaries.py``), as an unprivileged account when stager runs as root
(``account.py``), talks to it through ``psql`` (``psql.py``), makes and drops the
one database it works in (``fresh.py``), and reads its catalog as data
(``snapshot.py``, compared by ``schema_diff.py``).
"""
