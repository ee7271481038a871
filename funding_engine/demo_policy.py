"""The demo's policy (issue 14): a change that counted once a second person approved it, and one
still waiting for a second person, so the policy pages show both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england


def change_the_policy(app: FundingApplication, council: Actor, finance: Actor, say: Callable[[str], None]) -> None:
    """After the year's decisions, so each of them was taken under the policy before the change."""
    today = today_in_england()
    cap = app.change_policy(
        council,
        parameter="award_cap",
        value="15000.00",
        effective_from=today,
        reason="Cabinet, 12 November: no single top-up above £15,000 (fictional minute 14)",
    )
    app.approve_policy_change(finance, cap.number)
    next_april = date(today.year + (today.month >= 4), 4, 1)
    app.change_policy(
        finance,
        parameter="council_term_cap",
        value="10000.00",
        effective_from=next_april,
        reason="Schools Forum, 19 November: the exceptional-circumstances panel awards at most £10,000 a term",
    )
    say("changed the policy: an award cap of £15,000 (approved by finance), a term cap waiting for the council")
