"""Which GitHub repository and which API a remote points at, read from its URL alone.

No network: ``--dry-run`` uses this too. A token is only ever sent to the API
of the host the remote is on (or to an API the user configured explicitly), so
a GitHub Enterprise token never reaches github.com.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from stager.errors import StagerError

GITHUB_COM = "github.com"
GITHUB_COM_API = "https://api.github.com"
API_URL_ENV = "GITHUB_API_URL"

_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
# user@host:path — git's scp-like syntax; a ':' before any '/' and no '://'.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).*)$")


class GitHubConfigError(StagerError):
    """The GitHub repository or API cannot be determined, or is inconsistent."""


@dataclass(frozen=True)
class RepoId:
    """OWNER/NAME of a GitHub repository."""

    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, text: str, where: str) -> RepoId:
        """``OWNER/NAME`` (a trailing ``.git`` is dropped); ``where`` names the source in errors."""
        owner, slash, name = text.strip().partition("/")
        name = name.removesuffix(".git")
        if not slash or not _SEGMENT.fullmatch(owner) or not _SEGMENT.fullmatch(name):
            raise GitHubConfigError(
                f"{where}: {text!r} is not a GitHub repository",
                "write it as OWNER/NAME, e.g. acme/fuel-credits",
            )
        return cls(owner, name)


@dataclass(frozen=True)
class RemoteUrl:
    """A remote's URL, reduced to what stager needs; ``shown`` never holds credentials."""

    shown: str
    host: str | None  # None for a local path or file:// URL
    repo: RepoId | None  # None when the path is not OWNER/NAME
    # http(s) remotes: scheme, host and port of the web server (its API is below it)
    web_root: str | None = None


def strip_credentials(url: str) -> str:
    """The URL without a ``user:password@`` part (https remotes sometimes embed a token)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit(parts._replace(netloc=host))
    return url


def parse_remote_url(url: str) -> RemoteUrl:
    """Host and OWNER/NAME of https://, http://, ssh://, git:// and ``git@host:`` URLs."""
    text = url.strip()
    shown = strip_credentials(text)
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        if parts.scheme == "file" or not parts.hostname:
            return RemoteUrl(shown, None, None)
        host = _canonical_host(parts.hostname)
        web_root = None
        if parts.scheme in ("http", "https"):
            port = parts.port  # an ssh port says nothing about where the API is
            web_root = f"{parts.scheme}://{_bracketed(host)}{f':{port}' if port else ''}"
        return RemoteUrl(shown, host, _repo_from_path(parts.path), web_root)
    scp = _SCP_LIKE.match(text)
    # "C:\\x" or "C:/x" is a Windows path, not host "C"
    if scp and len(scp["host"]) > 1:
        return RemoteUrl(shown, _canonical_host(scp["host"]), _repo_from_path(scp["path"]))
    return RemoteUrl(shown, None, None)  # a local path


def _bracketed(host: str) -> str:
    """An IPv6 address in brackets, as a URL needs it."""
    return f"[{host}]" if ":" in host else host


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    # GitHub's ssh-over-443 endpoint and the www alias are github.com
    if host in ("ssh.github.com", "www.github.com"):
        return GITHUB_COM
    return host


def _repo_from_path(path: str) -> RepoId | None:
    segments = [segment for segment in path.strip("/").split("/") if segment]
    if len(segments) != 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not _SEGMENT.fullmatch(owner) or not _SEGMENT.fullmatch(name):
        return None
    return RepoId(owner, name)


def api_url_for_host(host: str, web_root: str | None = None) -> str:
    """The REST API root of a GitHub host: api.github.com, GHE.com or GitHub Enterprise Server.

    ``web_root`` (``https://host:port`` of an https remote) keeps a GitHub
    Enterprise Server's scheme and port.
    """
    if host == GITHUB_COM:
        return GITHUB_COM_API
    if host.endswith(".ghe.com"):  # GitHub Enterprise Cloud with data residency
        return f"https://api.{host}"
    return f"{web_root or f'https://{_bracketed(host)}'}/api/v3"


def host_of_api_url(api_url: str) -> str:
    """The GitHub host an API URL belongs to (the inverse of ``api_url_for_host``)."""
    host = (urllib.parse.urlsplit(api_url).hostname or "").lower()
    if host == "api.github.com":
        return GITHUB_COM
    if host.startswith("api.") and host.endswith(".ghe.com"):
        return host.removeprefix("api.")
    return host


def check_api_url(api_url: str, where: str) -> str:
    """``api_url`` without a trailing slash; an error when it is not an http(s) URL."""
    parts = urllib.parse.urlsplit(api_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GitHubConfigError(
            f"{where}: {api_url!r} is not an http(s) URL",
            "write the REST API root, e.g. https://ghe.example.com/api/v3",
        )
    if parts.username or parts.password:
        raise GitHubConfigError(
            f"{where}: the API URL holds credentials",
            "remove them: stager reads the token from GITHUB_TOKEN, GH_TOKEN or the gh CLI",
        )
    return api_url.strip().rstrip("/")


@dataclass(frozen=True)
class GitHubTarget:
    """Where the pull requests go, and where each part of that was read from."""

    repo: RepoId
    api_url: str
    host: str  # the GitHub host the token must belong to
    repo_source: str
    api_source: str


def resolve_target(
    remote_name: str,
    remote: RemoteUrl,
    *,
    repo_option: str | None,
    configured_repo: str | None,
    configured_api_url: str | None,
    env: Mapping[str, str],
) -> GitHubTarget:
    """OWNER/NAME: --github-repo, else ``[github] repo``, else the remote's URL.

    API: ``[github] api_url``, else ``GITHUB_API_URL``, else from the remote's host.
    An API taken from the environment must belong to the remote's host: a runner's
    variables must not send its token to another GitHub.
    """
    if repo_option:
        repo, repo_source = RepoId.parse(repo_option, "--github-repo"), "--github-repo"
    elif configured_repo:
        repo, repo_source = RepoId.parse(configured_repo, "[github] repo"), "[github] repo"
    elif remote.repo is not None:
        repo, repo_source = remote.repo, f"remote {remote_name!r}"
    else:
        raise GitHubConfigError(
            f"cannot tell the GitHub repository from remote {remote_name!r} ({remote.shown})",
            "pass --github-repo OWNER/NAME or set `repo` under [github] in .stager/rules.toml",
        )

    from_env = env.get(API_URL_ENV, "").strip()
    if configured_api_url:
        api_url = check_api_url(configured_api_url, "[github] api_url")
        api_source = "[github] api_url"
    elif from_env:
        api_url = check_api_url(from_env, API_URL_ENV)
        api_source = API_URL_ENV
        if remote.host is not None and host_of_api_url(api_url) != remote.host:
            raise GitHubConfigError(
                f"{API_URL_ENV} is {api_url}, but remote {remote_name!r} is on {remote.host}: "
                "stager will not send that environment's token to another GitHub",
                f"set `api_url` under [github] in .stager/rules.toml, or unset {API_URL_ENV}",
            )
    else:
        api_url = api_url_for_host(remote.host or GITHUB_COM, remote.web_root)
        api_source = f"remote {remote_name!r}" if remote.host else "default (github.com)"
    return GitHubTarget(repo, api_url, host_of_api_url(api_url), repo_source, api_source)
