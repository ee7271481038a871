"""``funding-engine`` with a planted crash: the process kills itself (SIGKILL) at one step of a keyed command.

Run as ``python -m tests.api.crashing_serve serve --port N`` with ``CRASH_AT`` set to one of
``POINTS``. Only commands sent with an ``Idempotency-Key`` reach the planted steps, so a test
prepares its world without keys (or before starting this server) and sends one keyed request.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from funding_engine.cli import main
from funding_engine.idempotency import IdempotencyStore
from funding_engine.storage import recorders


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def before_the_events_commit() -> None:
    """Inside the events' transaction, after the key and events are written, before the commit."""
    for recorder in (recorders.SQLiteEventRecorder, recorders.PostgresEventRecorder):
        original: Callable[..., Any] = recorder._insert_events

        def insert_then_die(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            result = _original(*args, **kwargs)
            if kwargs.get("idempotency") is not None:
                die()
            return result

        recorder._insert_events = insert_then_die  # type: ignore[method-assign]


def after_the_commit_before_the_answer_is_recorded() -> None:
    IdempotencyStore.record_answer = lambda self, claim, answer: die()  # type: ignore[method-assign]


def after_the_answer_is_recorded() -> None:
    original = IdempotencyStore.record_answer

    def record_then_die(self: IdempotencyStore, claim: Any, answer: Any) -> None:
        original(self, claim, answer)
        die()

    IdempotencyStore.record_answer = record_then_die  # type: ignore[method-assign]


POINTS: dict[str, Callable[[], None]] = {
    "before-commit": before_the_events_commit,
    "after-commit": after_the_commit_before_the_answer_is_recorded,
    "after-answer": after_the_answer_is_recorded,
}

if __name__ == "__main__":
    POINTS[os.environ["CRASH_AT"]]()
    sys.exit(main(sys.argv[1:]))
