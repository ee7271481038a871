"""The one error for a damaged event log: a stored event that cannot be read, or cannot be folded.

Reading the log is the last thing that may fail quietly. Whatever goes wrong with one stored event
(state that is not JSON, a topic naming no class, fields its class does not take, a version out of
sequence, no Created event before it) is reported as the log's problem at that position, one line
an operator can act on, never as a traceback from deep inside the library.
"""

from __future__ import annotations

MAX_DETAIL = 300


class LogUnreadable(Exception):
    """The event log is damaged at ``position``: reading or folding the event stored there failed."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(position, problem)
        self.position = position
        self.problem = problem

    def __str__(self) -> str:
        return f"the event log cannot be read at position {self.position}: {self.problem}"


def one_line(error: BaseException) -> str:
    """An exception as one short line: its class, and its message with line breaks folded."""
    text = " ".join(str(error).split())
    if len(text) > MAX_DETAIL:
        text = text[: MAX_DETAIL - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class AggregateUnreadable(LogUnreadable):
    """An aggregate cannot be loaded: one of its stored events cannot be decoded."""

    def __init__(self, aggregate_id: object, problem: str) -> None:
        super().__init__(0, problem)
        self.aggregate_id = aggregate_id

    def __str__(self) -> str:
        return f"the event log cannot be read for {self.aggregate_id}: {self.problem}"
