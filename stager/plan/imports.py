"""Import edges: a module never lands before the module code it needs.

Python (module-level imports, read with ``ast``): a changed module that imports
a module the branch adds, or uses a name the branch adds to a module it
imports (directly or through changed packages that re-export it), needs that
module's change. The other way round, a change that removes a module or a
name waits for the changes that stop using it: until then, the old version of
the user still imports it. Only first-party modules count: import names are
resolved to files of the repository.

JS/TS: relative imports (``import … from './x'``, ``require('./x')``,
``import('./x')``, ``export … from './x'``) of a file the branch adds or changes.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, partial

from stager.git.diff import Status
from stager.plan.phase import Dependency, DependencyKind, first_few, reachable
from stager.plan.pyfacts import PyFacts, call_name
from stager.plan.pyscan import ImportRef
from stager.plan.sources import JS_SUFFIXES, Code, is_gone, is_js, is_new_path, is_python
from stager.types import RepoPath

_MAX_NAMES = 3


def _names(names: Iterable[str]) -> str:
    return first_few([f"`{name}`" for name in sorted(names)], _MAX_NAMES)


def _name_key(path: str) -> str:
    """What ``resolve`` looks a file up by: its name, with its folder's for a package.

    Every package is an ``__init__.py``: by its name alone, each lookup of one
    would try them all.
    """
    name = posixpath.basename(path)
    if name.startswith("__init__."):
        return f"{posixpath.basename(posixpath.dirname(path))}/{name}"
    return name


def _in_stdlib(dotted: str) -> bool:
    return dotted.partition(".")[0] in sys.stdlib_module_names


class ModuleIndex:
    """Finds the file of a dotted module name among the repository's Python files."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._all = paths
        self._resolved: dict[tuple[str, str], str | None] = {}
        self._by_module: dict[str, list[tuple[str, str]]] = {}

    @cached_property
    def paths(self) -> set[str]:
        # Built on first use: most files of a big branch import no changed module.
        return {path for path in self._all if path.endswith((".py", ".pyi"))}

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        by_name: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            by_name.setdefault(_name_key(path), []).append(path)
        return by_name

    def resolve(self, dotted: str, importer: str) -> str | None:
        """The file of absolute module ``dotted``, the one nearest ``importer`` if several."""
        candidates = self._candidates(dotted)
        if not candidates:
            return None  # most names of ``from x import a, b`` are no submodule
        if len(candidates) == 1:  # what ``_resolve`` decides of one, without a memo per importer
            path, root = candidates[0]
            if importer.startswith(root) or not _in_stdlib(dotted):
                return path
            return None
        key = (dotted, importer)
        if key not in self._resolved:  # both versions of a file mostly import the same
            self._resolved[key] = self._resolve(candidates, dotted, importer)
        return self._resolved[key]

    @staticmethod
    def _resolve(candidates: list[tuple[str, str]], dotted: str, importer: str) -> str | None:
        # A source root that contains the importer (backend/ for
        # backend/app/x.py importing app.models) beats any other.
        inside = [(path, root) for path, root in candidates if importer.startswith(root)]
        if inside:
            return min(inside, key=lambda found: (-len(found[1]), found[0]))[0]
        # ``import logging`` is the standard library's unless a source root holding
        # the importer shadows it (a first-party logging.py next to the code's root).
        if _in_stdlib(dotted):
            return None
        # Else the root sharing the longest folder prefix with the importer.
        best: tuple[int, str] | None = None
        for path, root in candidates:
            shared = len(posixpath.commonprefix([root, importer]))
            if best is None or shared > best[0] or (shared == best[0] and path < best[1]):
                best = (shared, path)
        return best[1] if best else None

    def _candidates(self, dotted: str) -> list[tuple[str, str]]:
        """(file, its source root) of each file that module ``dotted`` may be, whoever imports it.

        Kept by name: the many files of a branch import the same few modules.
        """
        found = self._by_module.get(dotted)
        if found is None:
            found = self._by_module[dotted] = list(self._find_candidates(dotted))
        return found

    def _find_candidates(self, dotted: str) -> Iterator[tuple[str, str]]:
        if not dotted:
            return
        stem = dotted.replace(".", "/")
        last = dotted.rpartition(".")[2]
        for relative, name in (
            (f"{stem}.py", f"{last}.py"),
            (f"{stem}/__init__.py", f"{last}/__init__.py"),
            (f"{stem}.pyi", f"{last}.pyi"),
        ):
            for path in self._by_name.get(name, ()):
                if path != relative and not path.endswith("/" + relative):
                    continue
                root = path[: len(path) - len(relative)]
                if root and f"{root}__init__.py" in self.paths:
                    continue  # inside a package: an absolute import never starts there
                yield path, root

    def resolve_relative(self, importer: str, level: int, module: str) -> str | None:
        folder = posixpath.dirname(importer)
        for _ in range(level - 1):
            folder = posixpath.dirname(folder)
        target = posixpath.join(folder, *module.split(".")) if module else folder
        for candidate in (f"{target}.py", f"{target}/__init__.py", f"{target}.pyi"):
            if candidate in self.paths:
                return candidate
        return None

    def targets(self, ref: ImportRef, importer: str) -> Iterator[tuple[str, str]]:
        """(file, dotted name shown in reasons) of each module the import statement loads."""

        def find(module: str) -> str | None:
            if ref.level:
                return self.resolve_relative(importer, ref.level, module)
            return self.resolve(module, importer)

        shown = "." * ref.level + ref.module
        if not ref.names:
            found = find(ref.module)
            if found:
                yield found, shown
            return
        for name in ref.names:
            # ``from pkg import sub`` loads the submodule when there is one.
            sub = find(f"{ref.module}.{name}" if ref.module else name) if name != "*" else None
            if sub is not None:
                yield sub, f"{shown}.{name}" if ref.module else f"{shown}{name}"
        package = find(ref.module) if ref.module or ref.level else None
        if package is not None:
            yield package, shown  # the package itself runs (and may define the names)


_IMPORT_STATEMENT = re.compile(
    r"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]*(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)",
    re.MULTILINE,
)
_IDENTIFIER = re.compile(r"\w+")


def _tail(path: str) -> str:
    """The last part of a module's dotted name: ``c`` for a/b/c.py, ``b`` for a/b/__init__.py."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    return posixpath.basename(posixpath.dirname(path)) if stem == "__init__" else stem


_PACKAGE_IMPORT = re.compile(r"[ \t]*from[ \t]+(\.+)[ \t]*import\b")


def _may_import(text: str, tails: set[str], package_changed: Callable[[int], bool]) -> bool:
    """Cheap test before parsing: does an import statement name one of ``tails``?

    ``from . import x`` names no module file: it loads the package ``level`` dots
    up, which ``package_changed`` tells.
    """
    for match in _IMPORT_STATEMENT.finditer(text):
        statement = match.group(0)
        if not tails.isdisjoint(_IDENTIFIER.findall(statement)):
            return True
        package = _PACKAGE_IMPORT.match(statement)
        if package is not None and package_changed(len(package.group(1))):
            return True
    return False


@dataclass(frozen=True)
class _Link:
    target: RepoPath
    module: str
    line: int
    names: frozenset[str] = frozenset()  # what ``from module import …`` takes from it


def _owners(
    code: Code, skip: Collection[RepoPath] = ()
) -> tuple[dict[str, RepoPath], dict[str, RepoPath]]:
    """Path on head, and path on the merge base → the change's path, for each changed file."""
    head: dict[str, RepoPath] = {}
    base: dict[str, RepoPath] = {}
    for path, change in code.files.items():
        if path in skip:
            continue
        if not is_gone(change):
            head[change.path] = path
        if change.status is not Status.ADDED:
            base[change.old_path or change.path] = path
    return head, base


class _Modules:
    """The changed Python modules, and which of their versions import one of them."""

    def __init__(self, code: Code) -> None:
        self.code = code
        self.paths = sorted(
            path
            for path, change in code.files.items()
            if path not in code.migrations and any(is_python(p) for p in change.paths)
        )
        self.tails = {
            _tail(name) for path in self.paths for name in code.files[path].paths if is_python(name)
        }
        self.files = {name for path in self.paths for name in code.files[path].paths}

    def may_import(self, path: RepoPath, *, head: bool) -> bool:
        """Whether the version's import statements name a changed module (else: not parsed)."""
        change = self.code.files[path]
        if (head and is_gone(change)) or (not head and change.status is Status.ADDED):
            return False
        text = (self.code.head if head else self.code.base).get(path)
        if text is None:
            return False
        importer = change.path if head else (change.old_path or change.path)
        return _may_import(text, self.tails, partial(self._package_changed, importer))

    def _package_changed(self, importer: str, level: int) -> bool:
        """Whether the package ``level`` dots up from ``importer`` is a changed module."""
        folder = posixpath.dirname(importer)
        for _ in range(level - 1):
            folder = posixpath.dirname(folder)
        return any(f"{folder}{suffix}" in self.files for suffix in _PACKAGE_FILES)


_PACKAGE_FILES = (".py", "/__init__.py", ".pyi")


def prefetch_imports(code: Code) -> None:
    """Parse now, on every core if many, the versions whose imports the graph reads first.

    A file whose two versions this run has already (from the cache) needs no
    scan of its imports: there is nothing to parse.
    """
    modules = _Modules(code)
    code.prefetch(
        (path, modules.may_import(path, head=False), modules.may_import(path, head=True))
        for path in modules.paths
        if not (code.has_facts(path, head=False) and code.has_facts(path, head=True))
    )


class _PythonGraph:
    """Direct imports between changed modules, on head and on the merge base."""

    def __init__(self, code: Code, index: ModuleIndex) -> None:
        self.code = code
        self.index = index
        self.head_owner, self.base_owner = _owners(code, skip=code.migrations)
        self.changed = _Modules(code)
        self.modules = self.changed.paths
        # The modules each import statement loads, by statement and importer: both
        # versions of a file mostly have the same imports (at other lines).
        self._loads: dict[tuple[str, int, tuple[str, ...], str], list[tuple[str, str]]] = {}
        self.head_links = {path: self._links(path, head=True) for path in self.modules}
        self.base_links = {path: self._links(path, head=False) for path in self.modules}

    def _links(self, path: RepoPath, *, head: bool) -> dict[RepoPath, _Link]:
        """The changed modules the version imports directly, by path."""
        if not self.changed.may_import(path, head=head):
            return {}  # no import statement names a changed module: no need to parse it
        change = self.code.files[path]
        importer = change.path if head else (change.old_path or change.path)
        owner = self.head_owner if head else self.base_owner
        found: dict[RepoPath, tuple[str, int, set[str]]] = {}
        for ref in self.code.facts(path, head=head).imports:
            key = (ref.module, ref.level, ref.names, importer)
            loads = self._loads.get(key)
            if loads is None:
                loads = self._loads[key] = list(self.index.targets(ref, importer))
            for module_file, module in loads:
                target = owner.get(module_file)
                if target is None or target == path:
                    continue
                first = found.get(target)
                if first is None:
                    found[target] = (module, ref.line, set(ref.names))
                else:
                    first[2].update(ref.names)
        return {
            target: _Link(target, module, line, frozenset(names))
            for target, (module, line, names) in found.items()
        }

    def reach(self, path: RepoPath, *, head: bool) -> list[RepoPath]:
        """Changed modules ``path`` loads, directly or through other changed modules."""
        links = self.head_links if head else self.base_links
        found = reachable(path, lambda current: links.get(current, {}).keys())
        return sorted(found - {path})


@dataclass(frozen=True)
class _ModuleChange:
    """What the branch adds to and removes from one module, as its users on either side see it."""

    added_top: frozenset[str]  # module-level names new on head
    own_added_top: frozenset[str]  # of those, the ones it does not merely import
    added_members: frozenset[str]  # class-body names new on head
    removed_top: frozenset[str]
    removed_members: frozenset[str]
    signatures: frozenset[str]  # functions and classes whose signature changes
    top_signatures: frozenset[str]  # of those, the ones bound at head's module level
    own_signatures: frozenset[str]  # of those, the module's own (not imported)

    def adds(self) -> bool:
        return bool(self.added_top or self.added_members or self.top_signatures)

    def removes(self) -> bool:
        return bool(self.removed_top or self.removed_members or self.signatures)


@dataclass(frozen=True)
class _Uses:
    """What one user module does differently on head than on the merge base."""

    named: frozenset[str]  # names and attributes on head
    started: frozenset[str]  # attributes head uses and the merge base did not
    new_calls: frozenset[str]  # callees head calls in a shape the merge base did not
    old_named: frozenset[str]  # names and attributes on the merge base
    dropped_calls: frozenset[str]  # callees the merge base calls in a shape head does not


class _Changes:
    """Each module's change, and each user's uses: worked out once per module, not per pair.

    A module's facts are only asked for once a pair needs them, as the scan
    warnings name only the versions read.
    """

    def __init__(self, code: Code) -> None:
        self.code = code
        self._modules: dict[RepoPath, _ModuleChange] = {}
        self._uses: dict[RepoPath, _Uses] = {}

    def of(self, target: RepoPath) -> _ModuleChange:
        found = self._modules.get(target)
        if found is None:
            after = self.code.facts(target, head=True)
            before = self.code.facts(target, head=False)
            signatures = frozenset(_changed_signatures(before, after))
            own = after.top - after.imported
            found = self._modules[target] = _ModuleChange(
                added_top=after.top - before.top,
                own_added_top=own - before.top,
                added_members=after.members - before.members,
                removed_top=before.top - after.top,
                removed_members=before.members - after.members,
                signatures=signatures,
                top_signatures=signatures & after.top,
                own_signatures=signatures & own,
            )
        return found

    def uses(self, path: RepoPath) -> _Uses:
        found = self._uses.get(path)
        if found is None:
            now = self.code.facts(path, head=True)
            before = self.code.facts(path, head=False)
            found = self._uses[path] = _Uses(
                named=now.names | now.attributes,
                started=now.attributes - before.attributes,
                new_calls=frozenset(call_name(shape) for shape in now.calls - before.calls),
                old_named=before.names | before.attributes,
                dropped_calls=frozenset(call_name(shape) for shape in before.calls - now.calls),
            )
        return found


def python_dependencies(code: Code, index: ModuleIndex) -> list[Dependency]:
    """Edges between changed Python modules (migrations excluded: they import no app code)."""
    graph = _PythonGraph(code, index)
    changes = _Changes(code)
    edges: list[Dependency] = []
    for path in graph.modules:
        change = code.files[path]
        # A version is only asked for once it reaches a changed module (scan warnings).
        if not is_gone(change):
            direct_head = graph.head_links[path]
            for target in graph.reach(path, head=True):
                user = code.facts(path, head=True)
                edges.extend(_needs(code, changes, path, target, direct_head.get(target), user))
        if change.status is not Status.ADDED:
            direct_base = graph.base_links[path]
            for target in graph.reach(path, head=False):
                code.facts(path, head=False)
                edges.extend(_removes(code, changes, path, target, direct_base.get(target)))
    return edges


def _needs(
    code: Code,
    changes: _Changes,
    path: RepoPath,
    target: RepoPath,
    link: _Link | None,
    user: PyFacts,
) -> Iterator[Dependency]:
    """``path`` (head version) needs what the branch adds to ``target``."""
    change = code.files[target]
    if link is not None and is_new_path(change):
        verb = f"moves to {target}" if change.status is Status.RENAMED else "adds"
        yield Dependency(
            path,
            target,
            DependencyKind.IMPORT,
            f"imports `{link.module}`, which the branch {verb} ({target})",
            line=link.line,
        )
        return
    module = changes.of(target)
    if not module.adds():
        code.facts(path, head=False)  # read as for any pair compared (its scan warning)
        return
    uses = changes.uses(path)
    # A name a module merely imports counts for its direct users (a package
    # re-exporting it); further away it is that module's own business.
    top = module.added_top if link is not None else module.own_added_top
    # A name the user binds by its own import from elsewhere (its own `import datetime`)
    # is not the target's, whatever the target defines or imports under that name.
    own = user.imported - (link.names if link else frozenset())
    used = ((uses.named & top) - own) | (uses.started & module.added_members)
    via = f"imports `{link.module}`" if link else "loads it through changed packages"
    if used:
        reason = f"uses {_names(used)}, which the branch adds to {target} ({via})"
    else:
        # A call shape the user starts making to a function (or class) whose signature
        # the branch changes: the merge-base version of the target does not accept it.
        changed = module.top_signatures if link is not None else module.own_signatures
        called = uses.new_calls & changed
        if not called:
            return
        reason = (
            f"calls {_names(called)} as the branch changes it in {target} (new signature; {via})"
        )
    yield Dependency(path, target, DependencyKind.IMPORT, reason, line=link.line if link else None)


def _changed_signatures(before: PyFacts, after: PyFacts) -> set[str]:
    """Functions and classes defined on both sides whose signature differs."""
    old = before.signatures
    return {name for name, shape in after.signatures.items() if old.get(name, shape) != shape}


def _removes(
    code: Code, changes: _Changes, path: RepoPath, target: RepoPath, link: _Link | None
) -> Iterator[Dependency]:
    """``target``'s change removes what the merge-base version of ``path`` uses."""
    change = code.files[target]
    if link is not None and (is_gone(change) or change.status is Status.RENAMED):
        what = "deletes" if is_gone(change) else f"moves to {change.path}"
        yield Dependency(
            target,
            path,
            DependencyKind.IMPORT,
            f"{what} `{link.module}`, which the merge-base version of {path} imports "
            "(it must not land before that file stops importing it)",
        )
        return
    if is_gone(change):
        return
    module = changes.of(target)
    now = code.facts(path, head=True)  # read as for any pair compared (its scan warning)
    if not module.removes():
        return
    uses = changes.uses(path)
    before = code.facts(path, head=False)
    # An attribute name is common (``name``, ``id``): count it only when the
    # user really stopped using it, not when it merely appears in both versions.
    used = (uses.old_named & module.removed_top) | (
        (before.attributes & module.removed_members) - now.attributes
    )
    if used:
        reason = (
            f"removes {_names(used)}, which the merge-base version of {path} uses "
            "(it must not land before that file stops using them)"
        )
    else:
        # The merge-base user calls a function whose signature changes, in a way the
        # user stops: the old call would break against the new signature.
        dropped = uses.dropped_calls & module.signatures
        if not dropped:
            return
        reason = (
            f"changes the signature of {_names(dropped)}, which the merge-base version of "
            f"{path} calls the old way (it must not land before that file changes its calls)"
        )
    yield Dependency(target, path, DependencyKind.IMPORT, reason)


# --- JS / TS -----------------------------------------------------------------------

_JS_IMPORT = re.compile(
    r"""(?:\bimport\s[^'";]*?\bfrom\s*|\bexport\s[^'";]*?\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)
        (['"])(\.{1,2}/[^'"\n]*)\1""",
    re.VERBOSE,
)


def js_specifiers(text: str) -> list[tuple[str, int]]:
    """Relative module specifiers in JS/TS source, with their lines, in file order."""
    if "./" not in text:
        return []  # no relative specifier at all: skip the slower search
    return [
        (match.group(2), text.count("\n", 0, match.start()) + 1)
        for match in _JS_IMPORT.finditer(text)
    ]


def resolve_js(importer: str, specifier: str, paths: Collection[str]) -> str | None:
    """The file ``specifier`` names from ``importer``: exact, with an extension, or index."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
    if target.startswith("../") or target == "..":
        return None
    candidates = [target]
    candidates += [target + ext for ext in JS_SUFFIXES]
    candidates += [f"{target}/index{ext}" for ext in JS_SUFFIXES]
    return next((candidate for candidate in candidates if candidate in paths), None)


def js_dependencies(code: Code, tree_paths: Collection[str]) -> list[Dependency]:
    """Edges between changed JS/TS files through relative imports."""
    head_owner, base_owner = _owners(code)
    scripts = sorted(path for path, change in code.files.items() if any(map(is_js, change.paths)))
    if not scripts:
        return []
    head_paths = set(tree_paths) | set(head_owner)
    base_paths = set(tree_paths) | set(base_owner)
    edges: list[Dependency] = []
    for path in scripts:
        change = code.files[path]
        text = code.head.get(path)
        for specifier, line, target in _js_targets(text, path, path, head_paths, head_owner):
            verb = "adds" if is_new_path(code.files[target]) else "changes"
            edges.append(
                Dependency(
                    path,
                    target,
                    DependencyKind.IMPORT,
                    f"imports '{specifier}', which the branch {verb} ({target})",
                    line=line,
                )
            )
        importer = change.old_path or path
        old_text = code.base.get(path)
        for specifier, _line, target in _js_targets(
            old_text, importer, path, base_paths, base_owner
        ):
            gone = code.files[target]
            if is_gone(gone) or gone.status is Status.RENAMED:
                what = "deletes" if is_gone(gone) else f"moves to {gone.path}"
                edges.append(
                    Dependency(
                        target,
                        path,
                        DependencyKind.IMPORT,
                        f"{what} '{specifier}', which the merge-base version of {path} imports "
                        "(it must not land before that file stops importing it)",
                    )
                )
    return edges


def _js_targets(
    text: str | None,
    importer: str,
    path: RepoPath,
    paths: Collection[str],
    owner: Mapping[str, RepoPath],
) -> Iterator[tuple[str, int, RepoPath]]:
    """(specifier, line, change path) of each other changed file ``text`` imports, once."""
    seen: set[RepoPath] = set()
    for specifier, line in js_specifiers(text or ""):
        found = resolve_js(importer, specifier, paths)
        target = owner.get(found) if found else None
        if target is not None and target != path and target not in seen:
            seen.add(target)
            yield specifier, line, target
