"""Phases, dependency closure, re-chained migrations, conflicts explained.

``build_plan`` computes a :class:`Plan` from the analysis of a branch (the
rules ask, the dependencies between the changed files decide);
``load_plan_file`` reads an edited plan file back, checked again against the
same dependencies. See docs/plan.md.
"""

from stager.plan.facts_store import FactsStore
from stager.plan.phase import Conflict, Dependency, Plan, PlanError
from stager.plan.planfile import DEFAULT_PLAN_FILE, load_plan_file, render_plan_file
from stager.plan.planner import PlanInputs, annotate_classes, build_plan, prefetch_facts
from stager.plan.sources import read_texts

__all__ = [
    "DEFAULT_PLAN_FILE",
    "Conflict",
    "Dependency",
    "FactsStore",
    "Plan",
    "PlanError",
    "PlanInputs",
    "annotate_classes",
    "build_plan",
    "load_plan_file",
    "prefetch_facts",
    "read_texts",
    "render_plan_file",
]
