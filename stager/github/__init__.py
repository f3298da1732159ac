"""Pushing the phase branches and opening their pull requests on GitHub.

Submodules, by what they own:

* ``remote_url`` — OWNER/NAME and the API URL from a remote's URL (https, ssh, scp-like);
* ``auth`` — the token: GITHUB_TOKEN, GH_TOKEN, the gh CLI; redaction;
* ``push`` — one atomic ``git push`` with leases on the shas stager last pushed;
* ``protocol`` — the small interface the rest of stager uses to talk to GitHub;
* ``pygithub_client`` — that interface through PyGithub (imported lazily: it is slow);
* ``body`` — the marked, generated part of a pull request's body;
* ``context`` — what the PR templates see, computed from the analysis;
* ``render`` — titles and bodies from the Jinja templates;
* ``pull_requests`` — create or update one pull request per phase, making no write that
  changes nothing.

Nothing here prints a token: errors pass through ``auth.redact``.
"""
