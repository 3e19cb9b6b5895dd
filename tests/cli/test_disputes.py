"""``paysim disputes``: list, show, evidence and accept through a real server, ``--json`` parsed
back and the human view read."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.support.factories import MerchantAccount


def test_disputes_list_show_evidence_accept(cli: Cli, logged_in: MerchantAccount) -> None:
    fraud = cli.json("payments", "create", "--amount", "40", "--card", "4000000000000259")
    inquiry = cli.json("payments", "create", "--amount", "12", "--card", "4000000000001976")
    dispute_id = fraud["dispute"]["id"]
    assert dispute_id.startswith("dp_") and fraud["disputed_amount_minor"] == "4000"
    assert f"dispute     {dispute_id} needs response" in cli.ok("payments", "get", fraud["id"]).stdout

    listed = cli.json("disputes", "list", "--payment", fraud["id"])
    assert [d["id"] for d in listed["disputes"]] == [dispute_id]
    table = cli.ok("disputes", "list", "--status", "warning-needs-response").stdout.splitlines()
    assert table[0].split()[:3] == ["DISPUTE", "STATUS", "REASON"]
    assert [line.split()[0] for line in table[1:]] == [inquiry["dispute"]["id"]]

    shown = cli.ok("disputes", "show", dispute_id).stdout
    assert "status        needs response" in shown and "40.00 USD + fee 15.00 USD" in shown

    answered = cli.json(
        "disputes",
        "evidence",
        dispute_id,
        "--product-description",
        "A teapot",
        "--uncategorized-text",
        "winning_evidence",
    )
    assert answered["status"] == "DISPUTE_STATUS_UNDER_REVIEW"
    assert answered["evidence"]["product_description"] == "A teapot"
    nothing = cli("disputes", "evidence", dispute_id)
    assert nothing.code != 0 and "at least one evidence field" in nothing.stderr
    refused = cli("disputes", "accept", dispute_id)
    assert refused.code == 1 and "(reason DISPUTE_UNDER_REVIEW, request id " in refused.stderr

    closed = cli.json("disputes", "accept", inquiry["dispute"]["id"])
    assert (closed["status"], closed["close_reason"]) == ("DISPUTE_STATUS_WARNING_CLOSED", "accepted")
    gone = cli("disputes", "show", "dp_nothing")
    assert gone.code == 1 and "(reason DISPUTE_NOT_FOUND, request id " in gone.stderr
