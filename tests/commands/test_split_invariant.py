"""verify's expand/contract check: R_e and R's contract part run exactly head's R, both ways."""

from __future__ import annotations

from tests.commands.test_expand_contract import R_E, branch_of, seed, stager

__all__ = ["seed"]  # the seed's repository, a fixture of test_expand_contract
from tests.gitrepo import GitRepo


def test_verify_fails_when_the_expand_revision_no_longer_undoes_what_it_adds(
    seed: GitRepo,
) -> None:
    """Downgraded past R, the phases would keep the column head's downgrade drops."""
    assert stager(seed, "split", "--base", "main", "--all").exit_code == 0
    last = branch_of(seed, 4)
    expand_path = next(
        path
        for path in seed.git("ls-tree", "-r", "--name-only", last).splitlines()
        if path.startswith(f"migrations/versions/{R_E}")
    )
    expand = seed.git("show", f"{last}:{expand_path}")
    undo = "    op.drop_column('compliance_report_summary', 'historical_snapshot')\n"
    assert undo in expand
    seed.git("switch", "-q", last)
    seed.commit("keep the new column on downgrade", {expand_path: expand.replace(undo, "")})
    seed.git("switch", "-q", "feature")
    verified = stager(seed, "verify", "--base", "main")
    assert verified.exit_code == 4, verified.output
    shown = " ".join(verified.output.split())
    assert (
        "downgraded, its contract part then its expand revision "
        f"({expand_path}) run add_column(compliance_report_summary.credits_offset_c), "
        "add_column(compliance_report_summary.credits_offset_b), "
        "add_column(compliance_report_summary.credits_offset_a); head's revision runs "
        "add_column(compliance_report_summary.credits_offset_c), "
        "add_column(compliance_report_summary.credits_offset_b), "
        "add_column(compliance_report_summary.credits_offset_a), "
        "drop_column(compliance_report_summary.historical_snapshot)" in shown
    )
