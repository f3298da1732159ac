"""The GitHub token: GITHUB_TOKEN, then GH_TOKEN, then the gh CLI. Never printed.

gh keeps tokens in the OS keyring since 2.40, where only ``gh auth token`` can
read them; older installs (and ``--insecure-storage``) keep them in hosts.yml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stager.errors import StagerError

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
ENTERPRISE_TOKEN_VARIABLES = ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
"""Read first for a host other than github.com, as gh does: a github.com token in
GITHUB_TOKEN need not go to a company's GitHub Enterprise."""
GH_TIMEOUT_SECONDS = 15
REDACTED = "***"
MIN_REDACTED_PART = 4  # a shorter line of a multi-line secret is left alone: it is no secret


class AuthError(StagerError):
    """No token, or GitHub rejected it."""


@dataclass(frozen=True)
class Token:
    """A token and where it came from; its value never shows in ``repr``."""

    value: str = field(repr=False)
    source: str  # e.g. "GH_TOKEN", "gh auth token", "gh hosts.yml"


def find_token(
    host: str, env: Mapping[str, str] | None = None, *, gh: str | None = "auto"
) -> Token:
    """The first token of GITHUB_TOKEN, GH_TOKEN, ``gh auth token --hostname HOST``, hosts.yml.

    For a host other than github.com, GH_ENTERPRISE_TOKEN and
    GITHUB_ENTERPRISE_TOKEN come first (gh's convention). ``gh`` is the gh
    executable ("auto": found on PATH; None: do not run gh).
    """
    env = os.environ if env is None else env
    enterprise = ENTERPRISE_TOKEN_VARIABLES if host != "github.com" else ()
    names = enterprise + TOKEN_VARIABLES
    for name in names:
        variable = env.get(name, "").strip()
        if variable:
            return _checked(Token(variable, name))
    executable = shutil.which("gh", path=env.get("PATH")) if gh == "auto" else gh
    if executable:
        from_gh = _gh_auth_token(executable, host, env)
        if from_gh:
            return _checked(Token(from_gh, "gh auth token"))
    hosts = gh_config_dir(env) / "hosts.yml"
    try:
        text = hosts.read_text(encoding="utf-8")
    except OSError:
        text = ""
    from_file = hosts_yml_token(text, host)
    if from_file:
        return _checked(Token(from_file, f"gh hosts.yml ({hosts})"))
    unset = ", ".join(names[:-1]) + f" and {names[-1]}"
    raise AuthError(
        f"no GitHub token for {host}: {unset} are unset and the gh CLI has no login for it",
        f"set {names[0]} to a token that can write pull requests, "
        f"or run `gh auth login --hostname {host}`",
    )


def _checked(token: Token) -> Token:
    """``token``, unless it holds whitespace or a control character (a pasted newline…).

    Such a value cannot go in an HTTP header: the HTTP library would refuse it
    with an error quoting the header, token included, and blaming the network.
    """
    if any(char.isspace() or not char.isprintable() for char in token.value):
        raise AuthError(
            f"the GitHub token from {token.source} contains whitespace or a control "
            "character (a line break pasted with it?), so it cannot be sent",
            f"set {token.source} to the token alone, on one line"
            if token.source in ENTERPRISE_TOKEN_VARIABLES + TOKEN_VARIABLES
            else "log in again with `gh auth login`",
        )
    return token


def _gh_auth_token(executable: str, host: str, env: Mapping[str, str]) -> str | None:
    """``gh auth token --hostname HOST``; None when gh fails, hangs or has no login."""
    gh_env = dict(env)
    gh_env.update(GH_PROMPT_DISABLED="1", GH_NO_UPDATE_NOTIFIER="1", NO_COLOR="1")
    try:
        result = subprocess.run(
            [executable, "auth", "token", "--hostname", host],
            env=gh_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GH_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.decode("utf-8", "replace").strip()
    return value if result.returncode == 0 and value and "\n" not in value else None


def gh_config_dir(env: Mapping[str, str]) -> Path:
    """Where gh keeps hosts.yml: GH_CONFIG_DIR, XDG_CONFIG_HOME/gh, %AppData%, ~/.config/gh."""
    if env.get("GH_CONFIG_DIR"):
        return Path(env["GH_CONFIG_DIR"])
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "gh"
    if sys.platform == "win32" and env.get("AppData"):
        return Path(env["AppData"]) / "GitHub CLI"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "gh"


def hosts_yml_token(text: str, host: str) -> str | None:
    """The ``oauth_token`` of ``host`` in gh's hosts.yml (both its old and multi-account shape).

    A small reader of the nested ``key: value`` mappings gh writes: stager does
    not depend on a YAML library for one value.
    """
    tree = _read_mappings(text)
    entry = tree.get(host)
    if not isinstance(entry, dict):
        return None
    token = entry.get("oauth_token")
    if isinstance(token, str) and token:
        return token
    users, user = entry.get("users"), entry.get("user")
    if isinstance(users, dict) and isinstance(user, str):
        account = users.get(user)
        if isinstance(account, dict):
            token = account.get("oauth_token")
            if isinstance(token, str) and token:
                return token
    return None


_Tree = dict[str, "str | _Tree"]


def _read_mappings(text: str) -> _Tree:
    root: _Tree = {}
    stack: list[tuple[int, _Tree]] = [(-1, root)]
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith(("#", "-")):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        key, colon, value = raw.strip().partition(":")
        if not colon:
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        key, value = _unquote(key.strip()), _unquote(value.split(" #")[0].strip())
        if value:
            parent[key] = value
        else:
            child: _Tree = {}
            parent[key] = child
            stack.append((indent, child))
    return root


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def redact(text: str, *secrets: str) -> str:
    """``text`` with every secret replaced by ``***`` (tokens never reach a message).

    Also the forms an error message may quote a secret in: its ``repr`` (control
    characters escaped) and, for a secret of several lines, each line of it.
    """
    for secret in secrets:
        if not secret:
            continue
        escaped = repr(secret)[1:-1]
        lines = [line for line in secret.splitlines() if len(line.strip()) >= MIN_REDACTED_PART]
        for form in sorted({secret, escaped, *lines}, key=len, reverse=True):
            text = text.replace(form, REDACTED)
    return text
