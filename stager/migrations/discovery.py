"""Find Alembic environments in a tree, the way alembic itself reads its config.

Sources: every ``alembic.ini`` (section ``[alembic]``, and each other section
that sets ``script_location``: an environment ``alembic -n NAME`` runs) and every
``pyproject.toml`` with ``[tool.alembic]``, at any depth. Paths are resolved
against the folder of the file that declares them (``%(here)s``, and the
folder alembic is normally run from). Without any usable configuration, any
folder named ``versions`` whose files assign ``revision``/``down_revision``
is taken as a versions folder.
"""

from __future__ import annotations

import configparser
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from stager.git.repository import TreeEntry
from stager.migrations.revision_files import AlembicConfig, BlobSource, ParseProblem
from stager.rules.toml_file import TomlError, read_toml
from stager.types import RepoPath, Sha

INI_NAME = "alembic.ini"
PYPROJECT_NAME = "pyproject.toml"
_REGULAR_MODES = frozenset({"100644", "100755"})

# Stands for the repository root inside expanded paths: ``%(here)s`` of
# ``app/alembic.ini`` becomes ``<_ROOT>/app``, an absolute path we can map back.
_ROOT = "/__stager_repository_root__"

# alembic.config.Config._get_file_separator_char
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
# alembic's legacy split when neither path_separator nor version_path_separator is set.
_LEGACY_SPLIT = re.compile(r", *|(?: +)")
# alembic.script.base._only_source_rev_file: editor backups and __init__ are skipped.
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_ASSIGNS_REVISION = re.compile(rb"^revision\s*(?::[^=\n]*)?=", re.MULTILINE)
_ASSIGNS_DOWN_REVISION = re.compile(rb"^down_revision\s*(?::[^=\n]*)?=", re.MULTILINE)
_VENDORED = frozenset({"site-packages", "node_modules"})


@dataclass
class _Settings:
    """alembic options read from one folder's alembic.ini and/or pyproject.toml."""

    folder: str
    source: RepoPath
    script_location: str | None = None
    script_line: int = 0
    version_locations: list[str] | None = None
    locations_line: int = 0
    recursive: bool = False
    recursive_set: bool = False
    file_template: str | None = None
    truncate_slug_length: int | None = None
    problems: list[ParseProblem] = field(default_factory=list)


class _Dirs:
    """The folders of a tree, computed only when a lookup needs them."""

    def __init__(self, tree: Mapping[RepoPath, TreeEntry]) -> None:
        self._tree = tree

    @cached_property
    def all(self) -> frozenset[str]:
        dirs: set[str] = set()
        for path in self._tree:
            parent = posixpath.dirname(path)
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        return frozenset(dirs)


def _line_of(text: str, key: str, start: int = 0, end: int | None = None) -> int:
    """Line of ``key = ...`` in a config file (0 when not found): findings point at it."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]", re.MULTILINE)
    match = pattern.search(text, start, len(text) if end is None else end)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def config_candidates(tree: Mapping[RepoPath, TreeEntry]) -> list[TreeEntry]:
    """The alembic.ini and pyproject.toml files of a tree (their blobs are what discover reads)."""
    names = (INI_NAME, PYPROJECT_NAME)
    return [
        entry
        for path, entry in tree.items()
        # endswith first: this runs over every path of large trees
        if path.endswith(names)
        and posixpath.basename(path) in names
        and entry.mode in _REGULAR_MODES
    ]


def _line_in_section(text: str, section: str, key: str) -> int:
    """Line of ``key = ...`` inside ``[section]`` of an ini file (0 when not found)."""
    header = re.search(rf"^\s*\[{re.escape(section)}\]\s*$", text, re.MULTILINE)
    if header is None:
        return _line_of(text, key)
    following = re.compile(r"^\s*\[[^\]\n]+\]\s*$", re.MULTILINE).search(text, header.end())
    return _line_of(text, key, header.end(), following.start() if following else None)


def _split_locations(
    raw: str, parser: configparser.ConfigParser, section: str, settings: _Settings
) -> list[str]:
    """alembic.config.Config.get_version_locations_list, for an ini value."""
    for option in ("path_separator", "version_path_separator"):
        if parser.has_option(section, option):
            name = parser.get(section, option, raw=True).strip()
            separator = _SEPARATORS.get(name)
            if separator is None:
                settings.problems.append(
                    ParseProblem(
                        settings.locations_line,
                        f"{option} = {name!r} is not one alembic accepts "
                        "(os, space, newline, ':' or ';'); alembic stops here",
                    )
                )
                break
            return [part.strip() for part in raw.split(separator) if part and part.strip()]
    return [part for part in _LEGACY_SPLIT.split(raw) if part]


def _ini_error(error: configparser.Error) -> ParseProblem:
    """configparser's multi-line message as one line, at the line it names."""
    line = getattr(error, "lineno", 0) or 0
    errors = getattr(error, "errors", None)
    if not line and errors:
        line = errors[0][0]
    return ParseProblem(line, "not a valid ini file: " + " ".join(str(error).split()))


def _read_section(
    parser: configparser.ConfigParser, text: str, section: str, settings: _Settings
) -> None:
    """One environment's options: ``[alembic]``, or the section ``alembic -n NAME`` reads."""
    if parser.has_option(section, "script_location"):
        settings.script_location = parser.get(section, "script_location")
        settings.script_line = _line_in_section(text, section, "script_location")
    raw = parser.get(section, "version_locations", fallback=None)
    if raw:
        settings.locations_line = _line_in_section(text, section, "version_locations")
        settings.version_locations = _split_locations(raw, parser, section, settings)
    _read_naming(parser, text, section, settings)
    if parser.has_option(section, "recursive_version_locations"):
        value = parser.get(section, "recursive_version_locations")
        # alembic compares with "true" exactly: "True" or "yes" mean false.
        settings.recursive = value == "true"
        settings.recursive_set = True
        if value != "true" and value.strip().lower() in {"true", "yes", "on", "1"}:
            settings.problems.append(
                ParseProblem(
                    _line_in_section(text, section, "recursive_version_locations"),
                    f"recursive_version_locations = {value!r} is false for alembic, "
                    "which only accepts 'true'",
                )
            )


def _read_naming(
    parser: configparser.ConfigParser, text: str, section: str, settings: _Settings
) -> None:
    """``file_template`` and ``truncate_slug_length``: how a new revision file is named."""
    try:
        if parser.has_option(section, "file_template"):
            settings.file_template = parser.get(section, "file_template")
        raw = parser.get(section, "truncate_slug_length", fallback=None)
    except configparser.Error as error:
        settings.problems.append(_ini_error(error))
        return
    if raw is None:
        return
    try:
        settings.truncate_slug_length = int(raw)
    except ValueError:
        settings.problems.append(
            ParseProblem(
                _line_in_section(text, section, "truncate_slug_length"),
                f"truncate_slug_length = {raw!r} is not a whole number",
            )
        )


def _read_ini(folder: str, path: RepoPath, data: bytes, settings: _Settings) -> list[_Settings]:
    """Fill ``settings`` from ``[alembic]``; other sections setting script_location are
    environments of their own (``alembic -n NAME``), returned as extra settings."""
    text = data.decode("utf-8", errors="replace")
    here = f"{_ROOT}/{folder}" if folder else _ROOT
    parser = configparser.ConfigParser(defaults={"here": here})
    others: list[_Settings] = []
    try:
        parser.read_string(text, source=path)
        if parser.has_section("alembic"):
            _read_section(parser, text, "alembic", settings)
        for section in parser.sections():
            if section == "alembic" or not parser.has_option(section, "script_location"):
                continue
            if section.startswith(("loggers", "handlers", "formatters", "logger_", "handler_")):
                continue
            extra = _Settings(folder=folder, source=path)
            _read_section(parser, text, section, extra)
            others.append(extra)
    except configparser.Error as error:
        settings.problems.append(_ini_error(error))
    return others


def _toml_string(value: object, here: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {type(value).__name__}")
    return value % {"here": here}


def _read_pyproject(folder: str, data: bytes, settings: _Settings, *, has_ini: bool) -> bool:
    """Fill settings from ``[tool.alembic]`` (after the ini, which wins); False when absent."""
    if b"alembic" not in data:
        return False
    source = posixpath.join(folder, PYPROJECT_NAME)
    try:
        text, document = read_toml(data, source)
    except TomlError as error:
        settings.problems.append(ParseProblem(error.line, f"{error.detail} — {error.fix}"))
        # Unreadable, but it does declare an environment: keep it so the problem is reported.
        declared = re.search(rb"^\s*\[tool\.alembic", data, re.MULTILINE) is not None
        if declared and not has_ini:
            settings.source = RepoPath(source)
        return declared
    tool = document.get("tool")
    section = tool.get("alembic") if isinstance(tool, dict) else None
    if not isinstance(section, dict):
        return False
    here = f"{_ROOT}/{folder}" if folder else _ROOT
    try:
        if settings.script_location is None and "script_location" in section:
            settings.script_location = _toml_string(section["script_location"], here)
            settings.script_line = _line_of(text, "script_location")
            if not has_ini:
                settings.source = RepoPath(source)
        if settings.version_locations is None and "version_locations" in section:
            value = section["version_locations"]
            if not isinstance(value, list):
                raise TypeError("version_locations must be a list of strings")
            settings.locations_line = _line_of(text, "version_locations")
            settings.version_locations = [_toml_string(item, here) for item in value]
        if settings.file_template is None and "file_template" in section:
            settings.file_template = _toml_string(section["file_template"], here)
        if settings.truncate_slug_length is None and "truncate_slug_length" in section:
            length = section["truncate_slug_length"]
            if not isinstance(length, int) or isinstance(length, bool):
                raise TypeError("truncate_slug_length must be a whole number")
            settings.truncate_slug_length = length
        if "recursive_version_locations" in section and not settings.recursive_set:
            value = section["recursive_version_locations"]
            if not isinstance(value, bool):
                raise TypeError("recursive_version_locations must be true or false")
            settings.recursive = value
    except (TypeError, ValueError, KeyError) as error:
        settings.problems.append(ParseProblem(0, f"{PYPROJECT_NAME} [tool.alembic]: {error}"))
    return True


def _resolve(
    value: str, folder: str, dirs: _Dirs, line: int, problems: list[ParseProblem]
) -> RepoPath | None:
    """A configured location as a repository path, or None (with a problem) if it is outside."""
    value = value.strip().replace("\\", "/")
    if value.startswith(_ROOT):
        relative = value[len(_ROOT) :].lstrip("/")
    elif not posixpath.isabs(value) and ":" in value:
        return _resolve_resource(value, folder, dirs, line, problems)
    elif posixpath.isabs(value):
        return _resolve_absolute(value, dirs, line, problems)
    else:
        # alembic resolves relative paths against the working directory, which
        # is the folder of alembic.ini when alembic is run the usual way.
        relative = posixpath.join(folder, value)
    normal = posixpath.normpath(relative) if relative else "."
    if normal == ".":
        return RepoPath("")
    if normal.startswith("../") or normal == "..":
        here = f"{_ROOT}/{folder}" if folder else _ROOT
        written = "%(here)s" + value[len(here) :] if value.startswith(here) else value
        problems.append(ParseProblem(line, f"{written!r} points outside the repository"))
        return None
    return RepoPath(normal)


def _resolve_resource(
    value: str, folder: str, dirs: _Dirs, line: int, problems: list[ParseProblem]
) -> RepoPath | None:
    """``package:path`` (alembic's package-resource form) as the matching folder of the tree."""
    package, *rest = value.split(":")
    target = posixpath.normpath("/".join([package.replace(".", "/"), *rest]))
    matches = sorted(
        (
            directory
            for directory in dirs.all
            if directory == target or directory.endswith("/" + target)
        ),
        key=lambda directory: (not directory.startswith(folder), len(directory), directory),
    )
    if not matches:
        problems.append(
            ParseProblem(
                line,
                f"package resource {value!r}: no folder {target!r} in the tree "
                "(stager does not import packages to find it)",
            )
        )
        return None
    return RepoPath(matches[0])


def _resolve_absolute(
    value: str, dirs: _Dirs, line: int, problems: list[ParseProblem]
) -> RepoPath | None:
    """An absolute path (``/app/migrations`` in a container) by its longest suffix in the tree."""
    parts = [part for part in value.split("/") if part]
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in dirs.all:
            return RepoPath(candidate)
    problems.append(
        ParseProblem(line, f"absolute path {value!r} matches no folder of the repository")
    )
    return None


def _config(settings: _Settings, tree: Mapping[RepoPath, TreeEntry], dirs: _Dirs) -> AlembicConfig:
    problems = settings.problems
    script: RepoPath | None = None
    if settings.script_location is not None:
        script = _resolve(
            settings.script_location, settings.folder, dirs, settings.script_line, problems
        )
    elif posixpath.join(settings.folder, "env.py") in tree:
        # Flask-Migrate writes alembic.ini without script_location next to
        # env.py and sets it to that folder at run time.
        script = RepoPath(settings.folder)
    else:
        problems.append(
            ParseProblem(0, "no script_location: alembic cannot find the migration scripts")
        )
    locations: list[RepoPath] = []
    if settings.version_locations is not None:
        for raw in settings.version_locations:
            resolved = _resolve(raw, settings.folder, dirs, settings.locations_line, problems)
            if resolved is not None and resolved and resolved not in dirs.all:
                # alembic stops on a missing folder; stager reads no revisions from it.
                problems.append(
                    ParseProblem(
                        settings.locations_line,
                        f"version_locations names {resolved!r}, which is no folder of the "
                        "repository (or holds no file)",
                    )
                )
            if resolved is not None and resolved not in locations:
                locations.append(resolved)
    elif script is not None:
        locations.append(RepoPath(posixpath.join(script, "versions") if script else "versions"))
    return AlembicConfig(
        source=settings.source,
        script_location=script,
        version_locations=tuple(locations),
        recursive=settings.recursive,
        problems=tuple(problems),
        file_template=settings.file_template,
        truncate_slug_length=settings.truncate_slug_length,
    )


def _declared(
    tree: Mapping[RepoPath, TreeEntry],
    candidates: list[TreeEntry],
    contents: Mapping[Sha, bytes],
    dirs: _Dirs,
) -> list[AlembicConfig]:
    by_folder: dict[str, dict[str, TreeEntry]] = {}
    for entry in candidates:
        folder, name = posixpath.split(entry.path)
        by_folder.setdefault(folder, {})[name] = entry
    configs: list[AlembicConfig] = []
    for folder in sorted(by_folder):
        files = by_folder[folder]
        ini, pyproject = files.get(INI_NAME), files.get(PYPROJECT_NAME)
        source = (ini or pyproject or next(iter(files.values()))).path
        settings = _Settings(folder=folder, source=source)
        others: list[_Settings] = []
        if ini is not None:
            others = _read_ini(folder, ini.path, contents.get(ini.blob, b""), settings)
        # An ini whose only environments are named sections (`alembic -n users`)
        # declares no [alembic] environment of its own.
        found = ini is not None and (not others or _has_alembic_section(settings, ini, contents))
        if pyproject is not None:
            data = contents.get(pyproject.blob, b"")
            found = _read_pyproject(folder, data, settings, has_ini=ini is not None) or found
        if found:
            configs.append(_config(settings, tree, dirs))
        configs.extend(_config(extra, tree, dirs) for extra in others)
    return configs


def _has_alembic_section(
    settings: _Settings, ini: TreeEntry, contents: Mapping[Sha, bytes]
) -> bool:
    if settings.script_location is not None or settings.problems:
        return True
    return re.search(rb"^\s*\[alembic\]", contents.get(ini.blob, b""), re.MULTILINE) is not None


def _is_revision_file(path: str) -> bool:
    return _REVISION_FILE.match(posixpath.basename(path)) is not None


def _fallback(tree: Mapping[RepoPath, TreeEntry], blobs: BlobSource) -> list[AlembicConfig]:
    """Folders named ``versions`` whose .py files assign revision and down_revision."""
    candidates: dict[str, list[TreeEntry]] = {}
    for path, entry in tree.items():
        if "versions/" not in path:
            continue
        parts = path.split("/")
        if (
            entry.mode not in _REGULAR_MODES
            or "versions" not in parts[:-1]
            or not _is_revision_file(path)
            or _VENDORED.intersection(parts)
        ):
            continue
        last = len(parts) - 2 - parts[-2::-1].index("versions")
        candidates.setdefault("/".join(parts[: last + 1]), []).append(entry)
    if not candidates:
        return []
    contents = blobs.read_blobs(
        {entry.blob for entries in candidates.values() for entry in entries}
    )
    configs: list[AlembicConfig] = []
    for versions in sorted(candidates):
        matching = [
            entry
            for entry in candidates[versions]
            if _ASSIGNS_REVISION.search(contents.get(entry.blob, b""))
            and _ASSIGNS_DOWN_REVISION.search(contents.get(entry.blob, b""))
        ]
        if matching:
            nested = any(posixpath.dirname(entry.path) != versions for entry in matching)
            configs.append(
                AlembicConfig(
                    source=None,
                    script_location=RepoPath(posixpath.dirname(versions)),
                    version_locations=(RepoPath(versions),),
                    recursive=nested,
                )
            )
    return configs


def discover(
    tree: Mapping[RepoPath, TreeEntry],
    blobs: BlobSource,
    *,
    candidates: list[TreeEntry] | None = None,
) -> list[AlembicConfig]:
    """Every Alembic environment of ``tree``; reads all config files in one ``read_blobs`` call.

    ``candidates`` is ``config_candidates(tree)`` when the caller has it already
    (each is a pass over every path of a large tree).
    """
    if candidates is None:
        candidates = config_candidates(tree)
    contents = blobs.read_blobs({entry.blob for entry in candidates}) if candidates else {}
    dirs = _Dirs(tree)
    configs = _declared(tree, candidates, contents, dirs)
    if not migration_entries(configs, tree, first_only=True):
        configs.extend(_fallback(tree, blobs))
    return configs


def _load_order(relative: str) -> tuple[tuple[int, str], ...]:
    """alembic's listing order: a folder's files by name, then its subfolders by name."""
    parts = relative.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def migration_entries(
    configs: Iterable[AlembicConfig],
    tree: Mapping[RepoPath, TreeEntry],
    *,
    first_only: bool = False,
) -> dict[RepoPath, TreeEntry]:
    """The revision files of the configs' version locations, in the order alembic loads them.

    ``first_only`` stops at the first file found: enough to know whether there are any.
    """
    locations: dict[RepoPath, bool] = {}
    for config in configs:
        for location in config.version_locations:
            locations[location] = locations.get(location, False) or config.recursive
    entries: dict[RepoPath, TreeEntry] = {}
    for location, recursive in locations.items():
        prefix = f"{location}/" if location else ""
        found: list[tuple[tuple[tuple[int, str], ...], TreeEntry]] = []
        for path, entry in tree.items():
            if not path.startswith(prefix) or entry.mode not in _REGULAR_MODES:
                continue
            relative = path[len(prefix) :]
            if (not recursive and "/" in relative) or not _is_revision_file(relative):
                continue
            if "__pycache__" in relative.split("/"):
                continue
            if first_only:
                return {entry.path: entry}
            found.append((_load_order(relative), entry))
        for _, entry in sorted(found, key=lambda item: item[0]):
            entries.setdefault(entry.path, entry)
    return entries
