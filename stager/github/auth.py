"""The GitHub token: GITHUB_TOKEN, then GH_TOKEN, then the gh CLI. Never printed.

gh keeps tokens in the OS keyring since 2.40, where only ``gh auth token`` can
read them; older installs (and ``--insecure-storage``) keep them in hosts.yml,
which ``gh auth token`` reads too (it exists since gh 2.17). stager asks gh
rather than read gh's files: gh knows its own storage, its active account and
its config folder, in every version that has the command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

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
    source: str  # "GITHUB_TOKEN", "GH_TOKEN", "gh auth token"…


def find_token(
    host: str, env: Mapping[str, str] | None = None, *, gh: str | None = "auto"
) -> Token:
    """The first token of GITHUB_TOKEN, GH_TOKEN and ``gh auth token --hostname HOST``.

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
    unset = ", ".join(names[:-1]) + f" and {names[-1]}"
    gh_state = "has no login for it" if executable else "is not on PATH"
    raise AuthError(
        f"no GitHub token for {host}: {unset} are unset and the gh CLI {gh_state}",
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
