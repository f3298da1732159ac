"""stager: split a monolithic feature branch into staged, reviewable pull requests."""

__version__ = "0.1.0"
