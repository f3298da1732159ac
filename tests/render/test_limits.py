"""The limits templates run in: refused at once, naming the template's file and line.

Every template below makes a value just past a limit, so that without the
limits it would render (a few megabytes), not hang: the test then fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stager.errors import StagerError
from stager.render import limits
from stager.render.templating import render_template

DOUBLING = "{% set ns = namespace(s='ab') %}{% for _ in range(20) %}{% set ns.s = ns.s ~ ns.s %}"


def render(folder: Path, text: str) -> str:
    (folder / "body.md.j2").write_text(text, encoding="utf-8")
    return render_template("body.md.j2", (folder,))


def refused(folder: Path, text: str) -> str:
    with pytest.raises(StagerError) as raised:
        render(folder, text)
    return str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 'ab' * 600000 }}", "repeating it 600,000 times would make a string of 1,200,000"),
        ("{{ [0] * 2000000 }}", "repeating it 2,000,000 times would make a list of 2,000,000"),
        ("{{ 3 ** 50000 }}", "raising to the power 50,000 would make an integer of 100,000 bits"),
        ("{{ 'a'.ljust(2000000) }}", "ljust(2,000,000) would make a string of 2,000,000"),
        ("{{ 'a'|center(2000000) }}", "center(2,000,000) would make a string of 2,000,000"),
        ("{{ 'a\\nb'|indent(1000000) }}", "indent(1,000,000) would make a string of 2,000,003"),
        ("{{ '%2000000s' % 'a' }}", "formatting with a width of 2,000,000 would make"),
        ("{{ '%*s' % (2000000, 'a') }}", "formatting with a width of 2,000,000 would make"),
        ("{{ '%2000000s'|format('a') }}", "formatting with a width of 2,000,000 would make"),
        ("{{ '{:>2000000}'.format('a') }}", "format() with a width of 2,000,000 would make"),
        ("{{ '{:>{}}'.format('a', 2000000) }}", "format() with a width of 2,000,000 would make"),
        ("{{ '{0}{0}{0}'.format('a' * 500000) }}", "format() would make a string of 1,500,009"),
        ("{{ ('a' * 1000)|replace('a', 'b' * 2000) }}", "replace() would make a string of 2,0"),
        ("{{ ('a' * 1000).replace('a', 'b' * 2000) }}", "replace() would make a string of 2,0"),
        ("{{ ('-' * 2000).join(['x'] * 1000) }}", "join() would make a string of"),
        ("{{ (['x' * 1000] * 2000)|join }}", "the filter join would make a string of"),
        ("{{ ['x' * 1000] * 2000 }}", "writing it out would turn a list into text of more than"),
        ("{{ (['x' * 1000] * 2000)|tojson }}", "the filter tojson would turn a list into text of"),
        ("{{ [1]|batch(2000000, 0)|list }}", "batch(2,000,000) would make a list of 2,000,000"),
        ("{{ 'a\\tb'.expandtabs(2000000) }}", "expandtabs(2,000,000) would make a string of"),
        (DOUBLING + "{% endfor %}", "joining with ~ would make a string of 2,097,152 characters"),
    ],
)
def test_a_value_past_the_limit_is_refused_before_it_is_made(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refused(tmp_path, f"# Body\n{text}\n")
    assert message.startswith(f"{tmp_path}/body.md.j2:2: {expected}"), message
    assert "GitHub keeps at most 65,536 characters" in message


def test_values_under_the_limits_render_as_jinja_renders_them(tmp_path: Path) -> None:
    text = (
        "{{ '%-4s|' % 'ab' }}{{ '{:>4}'.format(7) }}{{ [1, 2]|join(',') }}{{ 'a' ~ 1 }}"
        "{{ [1] + [2] }}{{ 'x' * 3 }}{{ 2 ** 10 }}{{ 7 % 3 }}{{ 'ab'|center(6) }}"
        "{{ [{'a': 1}, {'a': 2}]|map(attribute='a')|join('+') }}{{ [[1], [2]]|sum(start=[]) }}"
        "{% for row in [1, 2, 3]|batch(2) %}{{ row }}{% endfor %}{{ 'a b'.replace(' ', '-') }}"
        "{{ '%*d' % (3, 12345678) }}"
    )
    expected = "ab  |   71,2a1[1, 2]xxx10241  ab  1+2[1, 2][1, 2][3]a-b12345678"
    assert render(tmp_path, text) == expected


def test_templates_cannot_change_a_list(tmp_path: Path) -> None:
    """Values may only grow through the checked operations."""
    message = refused(tmp_path, "{% set l = [1] %}{{ l.extend(l) }}")
    assert "access to attribute 'extend' of 'list' object is unsafe" in message


def test_a_template_that_runs_too_long_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.2)
    loops = "{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}"
    message = refused(tmp_path, f"\n{loops}\n")
    assert message.startswith(f"{tmp_path}/body.md.j2:2: the template ran for more than 0.2")
    assert "loops nested in loops" in message


def test_a_template_that_writes_too_much_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_OUTPUT", 1000)
    message = refused(tmp_path, "{% for i in range(100) %}{{ 'x' * 20 }}{% endfor %}")
    assert message.startswith(f"{tmp_path}/body.md.j2: the template wrote more than 1,000")


def test_a_template_that_fills_the_memory_is_stopped(tmp_path: Path) -> None:
    """Many values under the limit, kept: the memory the process grows by is the limit.

    In a process of its own, started by this large one: what it measures must
    be its own memory now, not a peak it inherited (Linux keeps it across exec).
    """
    (tmp_path / "body.md.j2").write_text(
        "{% set ns = namespace(kept=[]) %}{% for i in range(200) %}\n"
        "{% set ns.kept = ns.kept + ['a' * 1000000 ~ i] %}{% endfor %}\n"
    )
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from stager.errors import StagerError
        from stager.render import limits
        from stager.render.templating import render_template
        limits.MAX_MEMORY = 32 * 2**20
        try:
            render_template("body.md.j2", (Path({str(tmp_path)!r}),))
        except StagerError as error:
            print(error)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.startswith(f"{tmp_path}/body.md.j2:2: the template used more than 32 MiB")


def test_the_documented_limits_are_the_limits() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "open-pr.md").read_text()
    table = docs.split("### Limits", 1)[1].split("\n\n", 3)[2]
    assert f"| {limits.MAX_VALUE:,} characters or items |" in table
    assert f"| {limits.MAX_VALUE:,} characters |" in table
    assert f"| {limits.MAX_INT_BITS:,} bits |" in table
    assert f"| {limits.MAX_SECONDS:g} seconds |" in table
    assert f"| {limits.MAX_MEMORY // 2**20} MiB |" in table
    assert f"({limits.MAX_OUTPUT:,} characters)" in table
