from __future__ import annotations

import pytest

from stager.github.remote_url import (
    GitHubConfigError,
    RemoteUrl,
    RepoId,
    api_url_for_host,
    host_of_api_url,
    parse_remote_url,
    resolve_target,
    strip_credentials,
)


@pytest.mark.parametrize(
    ("url", "host", "repo"),
    [
        ("https://github.com/acme/fuel.git", "github.com", "acme/fuel"),
        ("https://github.com/acme/fuel", "github.com", "acme/fuel"),
        ("https://github.com/acme/fuel/", "github.com", "acme/fuel"),
        ("http://GitHub.com/acme/fuel.git", "github.com", "acme/fuel"),
        ("https://x-access-token:ghs_abc@github.com/acme/fuel.git", "github.com", "acme/fuel"),
        ("ssh://git@github.com/acme/fuel.git", "github.com", "acme/fuel"),
        ("ssh://git@ssh.github.com:443/acme/fuel.git", "github.com", "acme/fuel"),
        ("git@github.com:acme/fuel.git", "github.com", "acme/fuel"),
        ("github.com:acme/fuel", "github.com", "acme/fuel"),
        ("git://github.com/acme/fuel.git", "github.com", "acme/fuel"),
        # GitHub Enterprise Server, every syntax
        ("https://ghe.corp.example/acme/fuel.git", "ghe.corp.example", "acme/fuel"),
        ("https://ghe.corp.example:8443/acme/fuel.git", "ghe.corp.example", "acme/fuel"),
        ("ssh://git@ghe.corp.example:2222/acme/fuel.git", "ghe.corp.example", "acme/fuel"),
        ("git@ghe.corp.example:acme/fuel.git", "ghe.corp.example", "acme/fuel"),
        ("org-123@ghe.corp.example:acme/fuel.git", "ghe.corp.example", "acme/fuel"),
        ("https://acme.ghe.com/acme/fuel.git", "acme.ghe.com", "acme/fuel"),
        ("https://github.com/acme.io/fuel.js.git", "github.com", "acme.io/fuel.js"),
    ],
)
def test_host_and_repository_from_remote_urls(url: str, host: str, repo: str) -> None:
    parsed = parse_remote_url(url)
    assert parsed.host == host
    assert str(parsed.repo) == repo


@pytest.mark.parametrize(
    "url",
    ["/srv/git/fuel.git", "../fuel.git", "file:///srv/git/fuel.git", "C:/git/fuel.git", r"C:\git"],
)
def test_local_paths_have_no_host(url: str) -> None:
    parsed = parse_remote_url(url)
    assert parsed.host is None and parsed.repo is None


def test_a_path_that_is_not_owner_slash_name_gives_no_repository() -> None:
    parsed = parse_remote_url("https://gitlab.example/group/subgroup/fuel.git")
    assert parsed.host == "gitlab.example" and parsed.repo is None


def test_credentials_never_shown() -> None:
    url = "https://x-access-token:ghs_SECRET@github.com/acme/fuel.git"
    assert "ghs_SECRET" not in parse_remote_url(url).shown
    assert strip_credentials(url) == "https://github.com/acme/fuel.git"
    assert strip_credentials("git@github.com:acme/fuel.git") == "git@github.com:acme/fuel.git"


@pytest.mark.parametrize(
    ("host", "api"),
    [
        ("github.com", "https://api.github.com"),
        ("ghe.corp.example", "https://ghe.corp.example/api/v3"),
        ("acme.ghe.com", "https://api.acme.ghe.com"),
    ],
)
def test_api_url_derived_from_the_host_and_back(host: str, api: str) -> None:
    assert api_url_for_host(host) == api
    assert host_of_api_url(api) == host


def test_repo_id_parsing() -> None:
    assert RepoId.parse(" acme/fuel.git ", "x") == RepoId("acme", "fuel")
    for bad in ("acme", "acme/", "/fuel", "acme/fu el", "a/b/c"):
        with pytest.raises(GitHubConfigError, match="OWNER/NAME"):
            RepoId.parse(bad, "--github-repo")


GHE = parse_remote_url("git@ghe.corp.example:acme/fuel.git")
DOTCOM = parse_remote_url("https://github.com/acme/fuel.git")
LOCAL = RemoteUrl("/srv/fuel.git", None, None)


def _target(remote: RemoteUrl, env: dict[str, str] | None = None, **kwargs: str | None):  # type: ignore[no-untyped-def]
    options: dict[str, str | None] = {
        "repo_option": None,
        "configured_repo": None,
        "configured_api_url": None,
    }
    options.update(kwargs)
    return resolve_target("origin", remote, env=env or {}, **options)


def test_ghe_remote_sends_its_token_to_its_own_api_never_github_com() -> None:
    target = _target(GHE)
    assert target.api_url == "https://ghe.corp.example/api/v3"
    assert target.host == "ghe.corp.example"
    assert str(target.repo) == "acme/fuel"


def test_repository_precedence_option_then_rules_then_remote() -> None:
    assert str(_target(DOTCOM).repo) == "acme/fuel"
    assert str(_target(DOTCOM, configured_repo="rules/repo").repo) == "rules/repo"
    chosen = _target(DOTCOM, configured_repo="rules/repo", repo_option="option/repo")
    assert str(chosen.repo) == "option/repo"
    assert chosen.repo_source == "--github-repo"


def test_api_precedence_rules_then_environment_then_remote() -> None:
    env = {"GITHUB_API_URL": "https://ghe.corp.example/api/v3/"}
    assert _target(GHE, env).api_url == "https://ghe.corp.example/api/v3"
    configured = _target(GHE, env, configured_api_url="https://proxy.corp.example/api/v3")
    assert configured.api_url == "https://proxy.corp.example/api/v3"
    assert configured.api_source == "[github] api_url"


def test_an_environment_api_for_another_host_is_refused() -> None:
    # e.g. a github.com runner's GITHUB_API_URL while pushing to GitHub Enterprise
    with pytest.raises(GitHubConfigError, match="another GitHub"):
        _target(GHE, {"GITHUB_API_URL": "https://api.github.com"})
    with pytest.raises(GitHubConfigError, match="another GitHub"):
        _target(DOTCOM, {"GITHUB_API_URL": "https://ghe.corp.example/api/v3"})


def test_local_remote_needs_an_explicit_repository() -> None:
    with pytest.raises(GitHubConfigError, match="--github-repo OWNER/NAME"):
        _target(LOCAL)
    target = _target(LOCAL, repo_option="acme/fuel")
    assert target.api_url == "https://api.github.com"
    local_api = _target(LOCAL, {"GITHUB_API_URL": "http://127.0.0.1:9/"}, repo_option="a/b")
    assert local_api.api_url == "http://127.0.0.1:9"


def test_invalid_api_urls() -> None:
    with pytest.raises(GitHubConfigError, match="not an http"):
        _target(DOTCOM, configured_api_url="ghe.corp.example/api/v3")
    with pytest.raises(GitHubConfigError, match="credentials"):
        _target(DOTCOM, configured_api_url="https://user:pw@ghe.corp.example/api/v3")


@pytest.mark.parametrize(
    ("url", "api"),
    [
        (
            "https://u:pw@ghe.corp.example:8443/fuel/credits.git",
            "https://ghe.corp.example:8443/api/v3",
        ),
        ("https://[::1]:8080/acme/fuel", "https://[::1]:8080/api/v3"),
        ("ssh://git@[::1]:2222/acme/fuel", "https://[::1]/api/v3"),  # an ssh port is not the API's
        ("ssh://git@ghe.corp.example:2222/acme/fuel", "https://ghe.corp.example/api/v3"),
        ("https://github.com:443/acme/fuel", "https://api.github.com"),
    ],
)
def test_the_api_keeps_an_https_remotes_port_and_brackets_ipv6(url: str, api: str) -> None:
    target = _target(parse_remote_url(url))
    assert target.api_url == api
    assert target.host == parse_remote_url(url).host
