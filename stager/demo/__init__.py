"""``stager demo``: a realistic monolithic branch to try stager on.

The repository lives as data in ``fuel-credits/`` (its ``history.toml`` says how
to edit it); ``history`` reads it and ``builder`` replays it into git.
"""

from stager.demo.builder import DemoRepository, build_demo_repository

__all__ = ["DemoRepository", "build_demo_repository"]
