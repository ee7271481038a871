"""``funding-engine audit replay [--decision POSITION] [--json]``: every recorded decision (or one)
decided again through the domain rules, with the policy it was taken under and with today's.

Exit status 0 when the rules reproduce every decision replayed, 1 when any is not reproduced (a
decision today's policy would refuse is reported, and is not a failure: the rules may change).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from funding_engine.application import ReplayReport
from funding_engine.bootstrap import bootstrap
from funding_engine.cli.operations import CLI_AUDITOR
from funding_engine.settings import Settings


def add_replay_parser(audit_commands: Any) -> None:
    replay = audit_commands.add_parser(
        "replay",
        help="decide every recorded decision again with the policy of its time and with today's; "
        "exit 1 if the rules do not reproduce one",
    )
    replay.add_argument(
        "--decision", type=int, default=None, metavar="POSITION", help="only the decision at this log position"
    )
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.set_defaults(handler=run_audit_replay, reads_existing_log=True)


def run_audit_replay(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        report = app.replay_decisions(CLI_AUDITOR, args.decision)
    if args.json:
        print(json.dumps(as_json(report), indent=2))
    else:
        print_report(report)
    return 0 if not report.not_reproduced else 1


def as_json(report: ReplayReport) -> dict[str, Any]:
    return {
        "replayed": len(report.decisions),
        "reproduced": report.reproduced,
        "not_reproduced": len(report.not_reproduced),
        "refused_today": len(report.refused_today),
        "decisions": [
            {
                "position": decision.position,
                "request_id": str(decision.request_id),
                "kind": decision.kind,
                "policy": decision.pinned,
                "reproduced": decision.reproduced,
                "problem": decision.problem,
                "refused_today": decision.refused_today,
            }
            for decision in report.decisions
        ],
    }


def print_report(report: ReplayReport) -> None:
    print(f"replayed: {len(report.decisions)}")
    print(f"reproduced: {report.reproduced}")
    print(f"not reproduced: {len(report.not_reproduced)}")
    for decision in report.not_reproduced:
        print(f"  position {decision.position} ({decision.kind}, {decision.pinned}): {decision.problem}")
    print(f"today's policy would refuse: {len(report.refused_today)}")
    for decision in report.refused_today:
        print(f"  position {decision.position} ({decision.kind}): {decision.refused_today}")
