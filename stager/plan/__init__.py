"""Phases, dependency closure, re-chained migrations, conflicts explained.

``build_plan`` computes a :class:`Plan` from the analysis of a branch (the
rules ask, the dependencies between the changed files decide);
``load_plan_file`` reads an edited plan file back, checked again against the
same dependencies. See docs/plan.md.
"""

from stager.plan.phase import (
    Conflict,
    Dependency,
    DependencyKind,
    Phase,
    Plan,
    PlanError,
    PlannedFile,
    PlannedMigration,
)
from stager.plan.planfile import DEFAULT_PLAN_FILE, load_plan_file, render_plan_file
from stager.plan.planner import PlanInputs, annotate_classes, assemble, build_plan
from stager.plan.sources import Texts, read_texts

__all__ = [
    "DEFAULT_PLAN_FILE",
    "Conflict",
    "Dependency",
    "DependencyKind",
    "Phase",
    "Plan",
    "PlanError",
    "PlanInputs",
    "PlannedFile",
    "PlannedMigration",
    "Texts",
    "annotate_classes",
    "assemble",
    "build_plan",
    "load_plan_file",
    "read_texts",
    "render_plan_file",
]
