"""Which policy a decision was taken under: pinned on the decision so it can be replayed exactly.

Kept apart from ``domain/policy.py`` because every decision record carries one, so the values
module needs it, and the policy itself needs the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.copying import shared_when_copied


@shared_when_copied
@dataclass(frozen=True, slots=True)
class PolicyPin:
    """The policy a decision was taken under: each policy's version then (0: it had no record yet)
    and the day whose changes had taken effect."""

    council_version: int
    cluster_version: int
    on: date

    def __str__(self) -> str:
        cluster = f", cluster policy version {self.cluster_version}" if self.cluster_version else ""
        return f"council policy version {self.council_version}{cluster}, as in force on {self.on.isoformat()}"
