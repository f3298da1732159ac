"""The phase types, for code written against the first simple grouping.

The planner (:mod:`stager.plan`) computes phases now; these are its types.
"""

from stager.plan.phase import Phase, PlannedFile, PlannedMigration

__all__ = ["Phase", "PlannedFile", "PlannedMigration"]
