"""Why the domain's small values are never copied: each one that cannot change is its own copy.

The library deep-copies every cached aggregate it hands to a command; without this, copying a
request's amounts, actors and decision record field by field was most of a cached read.
"""

from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")


def shared_when_copied(cls: type[V]) -> type[V]:
    """For a frozen, slotted value whose fields are all immutable: ``copy`` and ``deepcopy`` give it back.

    Not for a value that holds a list (``SpendEvidence``): that one is copied as usual.
    """
    cls.__copy__ = lambda self: self  # type: ignore[attr-defined]
    cls.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
    return cls
