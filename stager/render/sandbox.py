"""The Jinja environment every template renders in: a sandbox with limits.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no Python internals, no
list, dict or set changed in place, so values grow only through checked
operations), :class:`BoundedSandbox` puts every operation that can make a
large value, and every loop iteration, call, filter and include, through
:mod:`stager.render.limits`. It also computes nothing while compiling: Jinja
folds constant expressions then, outside every check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum, pass_context

from stager.render import limits
from stager.render.limits import tick

# The first parameter of a filter that takes what Jinja passes (pass_eval_context…).
_PASSED = frozenset({"eval_ctx", "environment", "context"})


def _parameters(function: Callable[..., Any]) -> inspect.Signature:
    """The parameters of a Jinja filter after the one Jinja passes, if any."""
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name in _PASSED:
        parameters = parameters[1:]  # async variants show their sync function's signature
    return inspect.Signature(parameters)


@cache
def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` registered as filter ``name``, with the checks of stager.render.limits."""
    passes = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
    # The checks by name know the parameters of Jinja's own filters, not of a replacement.
    signature = _parameters(function) if FILTERS.get(name) is function else None
    what = f"the filter {name}"

    def bounded(*args: Any, **kwargs: Any) -> Any:
        tick()
        passed, given = args[:passes], args[passes:]
        if signature is not None and name in limits.CHECKED_FILTERS:
            bound = signature.bind(*given, **kwargs)
            environment = getattr(passed[0], "environment", passed[0]) if passed else None
            limits.check_filter(name, bound.arguments, environment)
            given, kwargs = bound.args, bound.kwargs
        elif name not in limits.TEXTLESS_FILTERS and given:
            limits.text_length(what, given[0])
        result = function(*passed, *given, **kwargs)
        limits.check_value(what, result)
        return result

    bounded.jinja_pass_arg = getattr(function, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return bounded


class _BoundedFilters(dict[str, Callable[..., Any]]):
    """The environment's filters, each checked: compiled templates and ``map()`` read them here."""

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return _bounded_filter(name, super().__getitem__(name))

    def get(self, name: str, default: Any = None) -> Any:
        function = super().get(name)
        return default if function is None else _bounded_filter(name, function)


# -- the environment -----------------------------------------------------------------


class _CheckedCode(CodeGenerator):
    """Compiles templates so that loops, includes and ``~`` pass the checks too."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        step = nodes.ExprStmt(
            nodes.Call(nodes.EnvironmentAttribute("step"), [], [], None, None),
            lineno=node.lineno,
        )
        step.set_environment(self.environment)
        checked = nodes.For(
            node.target,
            node.iter,
            [step, *node.body],
            node.else_,
            node.test,
            node.recursive,
            lineno=node.lineno,
        )
        checked.set_environment(self.environment)
        super().visit_For(checked, frame)

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        self.writeline("environment.step()", node)
        super().visit_Include(node, frame)

    def visit_Import(self, node: nodes.Import, frame: Frame) -> None:
        self.writeline("environment.step()", node)
        super().visit_Import(node, frame)

    def visit_FromImport(self, node: nodes.FromImport, frame: Frame) -> None:
        self.writeline("environment.step()", node)
        super().visit_FromImport(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # Jinja's own, with the pieces checked before they are turned into text.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"{join}(environment.concat_pieces((")
        for piece in node.nodes:
            self.visit(piece, frame)
            self.write(", ")
        self.write(")))")


def _bounded(finalize: Callable[[Context, object], object] | None) -> Callable[..., object]:
    """Every ``{{ value }}``: a container is written only when its text is not too long.

    Then ``finalize`` (the caller's own, which takes the template's context).
    Taking the context keeps Jinja from computing output while it compiles,
    where no check runs.
    """

    @pass_context
    def finalize_bounded(context: Context, value: object) -> object:
        if isinstance(value, limits.CONTAINERS):
            limits.text_length("writing it out", value)
        return value if finalize is None else finalize(context, value)

    return finalize_bounded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox stager renders every template in (see the module's docstring)."""

    code_generator_class = _CheckedCode
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(
        self, *, finalize: Callable[[Context, object], object] | None = None, **options: Any
    ) -> None:
        super().__init__(optimized=False, finalize=_bounded(finalize), **options)
        self.filters = _BoundedFilters(self.filters)

    step = staticmethod(tick)

    @staticmethod
    def concat_pieces(pieces: tuple[object, ...]) -> tuple[object, ...]:
        """The pieces of ``a ~ b``, refused when their text together would be too long."""
        tick()
        size = sum(limits.text_length("joining with ~", piece) for piece in pieces)
        limits.check_size("joining with ~", "", size)
        return pieces

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        if operator == "*":
            limits.check_repeat(left, right)
        elif operator == "**":
            limits.check_power(left, right)
        elif operator == "+":
            limits.check_sum(left, right)
        elif isinstance(left, str):  # "%": formatting, not a remainder
            limits.check_percent(left, right)
        result = super().call_binop(context, operator, left, right)
        limits.check_value(f"the operator {operator}", result)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            limits.check_method(name, owner, args, kwargs)
            if name == "join" and args:
                args = (list(args[0]), *args[1:])
                limits.check_join("join()", owner, args[0])
        elif __obj is generate_lorem_ipsum:
            paragraphs = limits.number(kwargs.get("n", args[0] if args else 5))
            words = limits.number(kwargs.get("max", args[3] if len(args) > 3 else 100))
            # its longest word has 12 letters; with a space and the html, 20 is ample
            limits.check_size("lipsum()", "", paragraphs * words * 20)
        result = super().call(__context, __obj, *args, **kwargs)
        limits.check_value(f"{name}()" if name else "the call", result)
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        format_text = super().wrap_str_format(value)
        if format_text is None:
            return None
        text: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            tick()
            if is_map and len(args) == 1 and isinstance(args[0], Mapping):
                limits.check_format(text, (), args[0])
            else:
                limits.check_format(text, args, kwargs)
            result = format_text(*args, **kwargs)
            limits.check_value("format()", result)
            return result

        return bounded
