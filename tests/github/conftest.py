from tests.github.fixtures import github, remote

__all__ = ["github", "remote"]
