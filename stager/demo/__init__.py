"""``stager demo``: a realistic monolithic branch to try stager on.

The content (migrations, models, services, ETL, frontend) lives in one module
per area; ``history`` arranges it into commits; ``builder`` writes them.
"""

from stager.demo.builder import DemoRepository, build_demo_repository
from stager.demo.history import BASE_BRANCH, HEAD_BRANCH

__all__ = ["BASE_BRANCH", "HEAD_BRANCH", "DemoRepository", "build_demo_repository"]
