from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stager.github.auth import AuthError, Token, find_token, redact

HOSTS_OLD = """\
github.com:
    user: monalisa
    oauth_token: gho_OLDFORMAT
    git_protocol: https
ghe.corp.example:
    oauth_token: "gho_ENTERPRISE"
"""


def fake_gh(folder: Path, tokens: dict[str, str]) -> Path:
    """A `gh` on PATH answering `gh auth token --hostname HOST` like the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = "".join(f'  "{host}") echo "{token}" ;;\n' for host, token in tokens.items())
    script = folder / "gh"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3" = "auth token --hostname" ] || exit 2\n'
        f'case "$4" in\n{cases}  *) echo "no oauth token" >&2; exit 1 ;;\nesac\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir(exist_ok=True)
    env = {"PATH": str(empty_bin), "HOME": str(tmp_path / "home"), "GH_CONFIG_DIR": str(tmp_path)}
    env.update(extra)
    return env


def test_github_token_first(tmp_path: Path) -> None:
    env = env_for(tmp_path, GITHUB_TOKEN="t1", GH_TOKEN="t2")
    assert find_token("github.com", env) == Token("t1", "GITHUB_TOKEN")


def test_then_gh_token(tmp_path: Path) -> None:
    env = env_for(tmp_path, GITHUB_TOKEN="  ", GH_TOKEN="t2")
    assert find_token("github.com", env) == Token("t2", "GH_TOKEN")


def test_then_gh_auth_token_for_the_host(tmp_path: Path) -> None:
    bin_dir = fake_gh(tmp_path / "bin", {"ghe.corp.example": "gho_KEYRING"})
    env = env_for(tmp_path, PATH=str(bin_dir))
    assert find_token("ghe.corp.example", env) == Token("gho_KEYRING", "gh auth token")
    # a token gh keeps for a GitHub Enterprise host is never sent to github.com
    with pytest.raises(AuthError) as raised:
        find_token("github.com", env)
    assert "the gh CLI has no login for it" in str(raised.value)


def test_gh_files_are_gh_s_to_read(tmp_path: Path) -> None:
    """hosts.yml is read through `gh auth token` (gh >= 2.17), never by stager itself."""
    (tmp_path / "hosts.yml").write_text(HOSTS_OLD)
    with pytest.raises(AuthError) as raised:
        find_token("github.com", env_for(tmp_path))
    assert "the gh CLI is not on PATH" in str(raised.value)
    assert "gho_OLDFORMAT" not in str(raised.value)


def test_no_token_names_every_source(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as raised:
        find_token("ghe.corp.example", env_for(tmp_path))
    message = str(raised.value)
    for source in ("GITHUB_TOKEN", "GH_TOKEN", "gh auth login --hostname ghe.corp.example"):
        assert source in message


def test_a_failing_gh_is_skipped(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text("#!/bin/sh\necho 'gho_PARTIAL'\nexit 4\n")
    (bin_dir / "gh").chmod(0o755)
    with pytest.raises(AuthError):
        find_token("github.com", env_for(tmp_path, PATH=str(bin_dir)))


def test_token_value_never_in_repr() -> None:
    token = Token("ghp_SECRET", "GH_TOKEN")
    assert "ghp_SECRET" not in repr(token)
    assert "GH_TOKEN" in repr(token)


def test_redact() -> None:
    assert (
        redact("auth ghp_SECRET failed for ghp_SECRET", "ghp_SECRET") == "auth *** failed for ***"
    )
    assert redact("nothing", "") == "nothing"


@pytest.mark.parametrize("value", ["ghp_PASTED\nsecond", "ghp_TAB\tX", "ghp_NUL\x00X"])
def test_a_token_with_whitespace_or_control_characters_is_refused(value: str) -> None:
    with pytest.raises(AuthError) as raised:
        find_token("github.com", {"GITHUB_TOKEN": value}, gh=None)
    message = str(raised.value)
    assert "GITHUB_TOKEN contains whitespace or a control character" in message
    assert value[:6] not in message


def test_redact_also_hides_the_escaped_form_and_each_line() -> None:
    secret = "ghp_PASTED\nsecond-line"
    quoted = f"InvalidHeader: {{'Authorization': {'token ' + secret!r}}}"
    assert "ghp_PASTED" in quoted and "\\n" in quoted
    assert "ghp_PASTED" not in redact(quoted, secret)
    assert redact("a ghp_PASTED b second-line c", secret) == "a *** b *** c"


def test_an_enterprise_host_prefers_the_enterprise_token_variables() -> None:
    env = {"GITHUB_TOKEN": "ghp_DOTCOM", "GH_ENTERPRISE_TOKEN": "ghe_CORP"}
    assert find_token("ghe.corp.example", env, gh=None) == Token("ghe_CORP", "GH_ENTERPRISE_TOKEN")
    assert find_token("github.com", env, gh=None) == Token("ghp_DOTCOM", "GITHUB_TOKEN")
    only = {"GITHUB_ENTERPRISE_TOKEN": "ghe_OTHER"}
    assert find_token("ghe.corp.example", only, gh=None).source == "GITHUB_ENTERPRISE_TOKEN"
