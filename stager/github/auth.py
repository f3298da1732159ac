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
GH_TIMEOUT_SECONDS = 15
REDACTED = "***"


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

    ``gh`` is the gh executable ("auto": found on PATH; None: do not run gh).
    """
    env = os.environ if env is None else env
    for name in TOKEN_VARIABLES:
        variable = env.get(name, "").strip()
        if variable:
            return Token(variable, name)
    executable = shutil.which("gh", path=env.get("PATH")) if gh == "auto" else gh
    if executable:
        from_gh = _gh_auth_token(executable, host, env)
        if from_gh:
            return Token(from_gh, "gh auth token")
    hosts = gh_config_dir(env) / "hosts.yml"
    try:
        text = hosts.read_text(encoding="utf-8")
    except OSError:
        text = ""
    from_file = hosts_yml_token(text, host)
    if from_file:
        return Token(from_file, f"gh hosts.yml ({hosts})")
    raise AuthError(
        f"no GitHub token for {host}: GITHUB_TOKEN and GH_TOKEN are unset and the gh CLI "
        "has no login for it",
        f"set GITHUB_TOKEN (or GH_TOKEN) to a token that can write pull requests, "
        f"or run `gh auth login --hostname {host}`",
    )


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
    """``text`` with every secret replaced by ``***`` (tokens never reach a message)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
