"""Where head's files still name an enum value a branch migration removes.

A value like ``active`` or ``archived`` is a common word, so a line counts only
when it names the value through what maps the type:

* the Python enum class the models map the type with (``sa.Enum(ReportState,
  name="report_state")``; a class named like the type, ``ReportState`` for
  ``report_state``; or one whose values hold all the type's values):
  ``ReportState.ARCHIVED``, ``ReportState("archived")``,
  ``ReportState["ARCHIVED"]``, and the member itself, still defined;
* the value as a string literal (``"archived"``) in a Python file that
  declares the type, or defines, imports or names that enum class or a model
  of a file declaring the type;
* ``'archived'::report_state`` in SQL, in any file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stager.git.grep import GrepHit
from stager.plan.class_reach import ClassRef, reaches
from stager.plan.enum_drops import EnumDrop
from stager.plan.pyfacts import PyFacts
from stager.types import RepoPath


@dataclass(frozen=True)
class EnumLinks:
    """What maps one enum type in head's Python code."""

    classes: tuple[ClassRef, ...]  # the Python enum classes of the type
    values: Mapping[ClassRef, frozenset[str]]  # each class's member names and values
    owners: tuple[ClassRef, ...]  # model classes of files declaring the type
    declaring: frozenset[RepoPath]  # files with sa.Enum(..., name="<type>")


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def enum_links(
    type_name: str,
    values: frozenset[str],
    hits: Sequence[GrepHit],
    facts: Mapping[RepoPath, PyFacts],
) -> EnumLinks:
    """The enum classes and models of head that map ``type_name`` (of ``values`` before)."""
    declares = re.compile(rf"\bname\s*=\s*[\"']{re.escape(type_name)}[\"']", re.IGNORECASE)
    named: set[str] = set()
    declaring: set[RepoPath] = set()
    for hit in hits:
        if hit.path in facts and declares.search(hit.text):
            declaring.add(hit.path)
            named.update(re.findall(r"\b(?:Enum|ENUM)\(\s*(\w+)\s*[,)]", hit.text))
    lowered = {value.lower() for value in values}
    classes: dict[ClassRef, frozenset[str]] = {}
    for path, found in facts.items():
        for enum in found.enums:
            members = {value.lower() for value in enum.values}
            if (
                enum.name in named
                or _squash(enum.name) == _squash(type_name)
                or (len(lowered) >= 2 and lowered <= members)
            ):
                classes[ClassRef(path, enum.name)] = enum.values
    owners = tuple(
        ClassRef(path, table.class_name)
        for path in sorted(declaring)
        for table in facts[path].tables
        if table.class_name
    )
    return EnumLinks(tuple(classes), classes, owners, frozenset(declaring))


def member_names(label: str, links: EnumLinks, hits: Iterable[GrepHit]) -> set[str]:
    """The members of the type's enum classes that stand for ``label`` (``ARCHIVED``)."""
    assigned = re.compile(rf"^\s*(\w+)\s*(?::[^=]*)?=\s*[\"']{re.escape(label)}[\"']")
    files = {ref.path for ref in links.classes if label in links.values[ref]}
    names = {label} if label.isidentifier() else set()
    for hit in hits:
        if hit.path in files:
            match = assigned.search(hit.text)
            if match is not None:
                names.add(match.group(1))
    return names


class EnumMatcher:
    """Whether one line of one file names a removed value of an enum type."""

    def __init__(self, drop: EnumDrop, label: str, links: EnumLinks, members: set[str]) -> None:
        self.links = links
        self.label = label
        quoted = rf"[\"']{re.escape(label)}[\"']"
        self.literal = re.compile(quoted)
        self.cast = re.compile(
            rf"'{re.escape(label)}'\s*::\s*\"?{re.escape(drop.type_name)}(?![\w$])", re.IGNORECASE
        )
        self.defining = {ref.path for ref in links.classes if label in links.values[ref]}
        # SQLAlchemy stores a Python enum's member names: ARCHIVED = "archived" is 'ARCHIVED'
        self.named = re.compile(rf"^\s*{re.escape(label)}\s*(?::[^=]*)?=(?!=)")
        self.member = re.compile(
            rf"^\s*(?:{'|'.join(map(re.escape, sorted(members)))})\s*(?::[^=]*)?=(?!=)"
            if members
            else r"(?!)"
        )
        classes = "|".join(sorted({re.escape(ref.class_name) for ref in links.classes}))
        names = "|".join(map(re.escape, sorted(members))) or r"(?!)"
        self.qualified = (
            re.compile(
                rf"(?<![\w$])(?:{classes})\s*(?:\.\s*(?:{names})(?![\w$])"
                rf"|\(\s*{quoted}\s*\)|\[\s*[\"'](?:{names})[\"']\s*\])"
            )
            if classes
            else None
        )

    def matches(self, hit: GrepHit, facts: PyFacts | None) -> bool:
        if self.cast.search(hit.text):
            return True
        if self.qualified is not None and self.qualified.search(hit.text):
            return True
        if facts is None:
            return False
        if (
            hit.path in self.defining
            and self.member.search(hit.text)
            and (
                self.literal.search(hit.text) or self.named.search(hit.text) or "auto(" in hit.text
            )
        ):
            return True  # the member is still defined: code may still write it
        reached = hit.path in self.links.declaring or reaches(
            hit.path, facts, (*self.links.classes, *self.links.owners)
        )
        return reached and bool(self.literal.search(hit.text))
