"""The performance rules that the code's comments state, checked so that breaking one fails a test.

1. A value that shares itself instead of being copied (``_shared_when_copied`` in the domain) must
   be a frozen, slotted dataclass whose fields are all immutable: otherwise the library's
   deep copy of a cached aggregate hands a command an object it shares with the cache.
2. An aggregate read without copying (``to_change=False``: the cache's own object) is never
   changed, nor saved.
3. The transcoder's decoder builds every registered dataclass without calling its constructor,
   and what it builds is equal to, of the type of, and as frozen as the value written. (That
   every registered type comes back equal and as itself through both stores is
   ``tests/integration/test_transcodings.py``'s; its samples and scenario are reused here.)
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import decimal
import enum
import importlib
import pkgutil
import types
import typing
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Transcoder

import domain
from funding_engine.storage.transcodings import DATACLASS_TRANSCODINGS
from tests.integration.test_transcodings import SAMPLES, run_every_command
from tests.support import CLUSTER, HEAD, LEAD, YEAR, evidenced_request, set_up_world, store_app

# ================================================================================================
# 1. Values that share themselves are immutable all the way down
# ================================================================================================

IMMUTABLE_TYPES = (
    int,
    str,
    bool,
    bytes,
    decimal.Decimal,
    datetime.datetime,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    type(None),
)


def domain_classes() -> list[type]:
    modules = [importlib.import_module(info.name) for info in pkgutil.walk_packages(domain.__path__, "domain.")]
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__
    ]


def shares_itself(cls: type) -> bool:
    """Does the class hand out itself when copied (what ``_shared_when_copied`` makes it do)?"""
    return "__deepcopy__" in vars(cls) or "__copy__" in vars(cls)


def immutable(hint: Any, shared: set[type]) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return all(immutable(arg, shared) for arg in args)
    if origin is tuple:
        return all(arg is Ellipsis or immutable(arg, shared) for arg in args)
    if origin is frozenset:
        return immutable(args[0], shared)
    if origin is typing.Literal:
        return True
    if not isinstance(hint, type):
        return False  # Any, a TypeVar, a string that did not resolve: nothing proves it immutable
    return hint in IMMUTABLE_TYPES or issubclass(hint, enum.Enum) or hint in shared


def sharing_problems(cls: type, shared: set[type]) -> list[str]:
    """Why sharing ``cls`` instead of copying it would not be safe (nothing, when it is)."""
    if not dataclasses.is_dataclass(cls):
        return [f"{cls.__qualname__} shares itself but is not a dataclass"]
    problems = []
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        problems.append(f"{cls.__qualname__} shares itself but is not frozen")
    if "__slots__" not in vars(cls):
        problems.append(f"{cls.__qualname__} shares itself but has no __slots__ (an attribute could be added)")
    hints = typing.get_type_hints(cls)
    problems += [
        f"{cls.__qualname__}.{field.name}: {hints[field.name]} is not immutable, so it is shared"
        for field in dataclasses.fields(cls)
        if not immutable(hints[field.name], shared)
    ]
    return problems


def test_every_value_that_shares_itself_is_a_frozen_slotted_dataclass_of_immutable_fields():
    shared = {cls for cls in domain_classes() if shares_itself(cls)}

    assert {"Money", "FinancialYear", "SchoolUrn", "ClusterId", "Actor", "Decision"} <= {c.__name__ for c in shared}
    assert [problem for cls in shared for problem in sharing_problems(cls, shared)] == []


def test_a_value_that_shares_itself_is_its_own_copy():
    shared = [cls for cls in domain_classes() if shares_itself(cls)]

    for cls in shared:
        value: object = object.__new__(cls)
        assert copy.copy(value) is value
        assert copy.deepcopy(value) is value


def test_a_value_holding_a_list_is_copied_not_shared():
    holding_lists = [
        cls
        for cls in domain_classes()
        if dataclasses.is_dataclass(cls)
        and any(typing.get_origin(hint) is list for hint in typing.get_type_hints(cls).values())
    ]

    assert "SpendEvidence" in {cls.__name__ for cls in holding_lists}
    assert [cls.__name__ for cls in holding_lists if shares_itself(cls)] == []


def _shared(cls: type) -> type:
    cls.__copy__ = lambda self: self  # type: ignore[attr-defined]
    cls.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
    return cls


@_shared
@dataclasses.dataclass(frozen=True, slots=True)
class SharedWithAList:
    lines: list[str]


@_shared
@dataclasses.dataclass(slots=True)
class SharedButNotFrozen:
    pence: int


@_shared
@dataclasses.dataclass(frozen=True)
class SharedWithoutSlots:
    pence: int


@_shared
@dataclasses.dataclass(frozen=True, slots=True)
class SharedWithAnUnsharedValue:
    amount: SharedButNotFrozen | None


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (SharedWithAList, "lines: list[str] is not immutable"),
        (SharedButNotFrozen, "is not frozen"),
        (SharedWithoutSlots, "has no __slots__"),
        (SharedWithAnUnsharedValue, "amount: "),
    ],
)
def test_the_check_refuses_a_shared_value_that_is_not_safe_to_share(cls, problem):
    problems = sharing_problems(cls, {cls})

    assert any(problem in text for text in problems), problems


# ================================================================================================
# 2. Aggregates read without copying are never changed
# ================================================================================================


def state(aggregate: Aggregate) -> dict[str, Any]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


class PeekWatch:
    """Watches the aggregates an application reads without copying them (the cache's own objects).

    The cache may move one of them forward itself (fast-forwarding new events from the store), so
    "unchanged" means: before the repository touches it again, and at the end, it is exactly what
    the log says at its version, with no pending events; and no save was handed one.
    """

    def __init__(self, app: Any) -> None:
        self.repository_get = app.repository.get
        self.app_save = app.save
        self.peeked: dict[int, Aggregate] = {}
        self.problems: list[str] = []
        app.repository.get = self.get
        app.save = self.save

    def get(self, aggregate_id: uuid.UUID, **options: Any) -> Any:
        self.check(aggregate_id)
        aggregate = self.repository_get(aggregate_id, **options)
        if options.get("deepcopy_from_cache") is False and options.get("version") is None:
            self.peeked[id(aggregate)] = aggregate
        return aggregate

    def save(self, *aggregates: Aggregate, **options: Any) -> Any:
        self.problems += [f"a peeked {type(a).__name__} was saved" for a in aggregates if id(a) in self.peeked]
        return self.app_save(*aggregates, **options)

    def check(self, aggregate_id: uuid.UUID | None = None) -> list[str]:
        for aggregate in self.peeked.values():
            if aggregate_id is not None and aggregate.id != aggregate_id:
                continue
            what = f"a peeked {type(aggregate).__name__} {aggregate.id} (version {aggregate.version})"
            if aggregate.pending_events:
                problem = f"{what} has pending events: {aggregate.pending_events}"
            elif state(aggregate) != state(self.repository_get(aggregate.id, version=aggregate.version)):
                problem = f"{what} differs from the log at its version"
            else:
                continue
            if problem not in self.problems:
                self.problems.append(problem)
        return self.problems


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Any, PeekWatch]]:
    with store_app("sqlite", tmp_path) as app:
        yield app, PeekWatch(app)


def test_no_use_case_changes_an_aggregate_it_read_without_copying(watched):
    app, watch = watched

    run_every_command(app)
    app.get_budget(HEAD, CLUSTER, YEAR)

    assert watch.peeked, "no use case read an aggregate without copying: is the peek still done this way?"
    assert watch.check() == []


def _command(app: Any, peeked: Any) -> None:
    peeked.withdraw("Changed on the cache's own object.", HEAD)


def _field(app: Any, peeked: Any) -> None:
    peeked.conditions = "edited in the cache"


def _list_in_place(app: Any, peeked: Any) -> None:
    peeked.planned_provision.append(peeked.planned_provision[0])


def _saved(app: Any, peeked: Any) -> None:
    peeked.withdraw("Saved from the cache's own object.", HEAD)
    app.save(peeked)


@pytest.mark.parametrize("change", [_command, _field, _list_in_place, _saved], ids=lambda f: f.__name__[1:])
def test_the_watch_reports_a_change_to_a_peeked_aggregate(watched, change: Callable[[Any, Any], None]):
    app, watch = watched
    set_up_world(app)
    request = evidenced_request(app)
    peeked = app.repository.get(request.id, deepcopy_from_cache=False)
    assert watch.check() == []

    change(app, peeked)

    assert watch.check() != []


def test_the_watch_sees_a_change_before_the_cache_moves_the_aggregate_past_it(watched):
    app, watch = watched
    set_up_world(app)
    request = evidenced_request(app)
    peeked = app.repository.get(request.id, deepcopy_from_cache=False)
    peeked.conditions = "edited in the cache"

    # Approving reads the request again, which fast-forwards the cached object and sets its
    # conditions: a check only at the end would find nothing wrong.
    app.approve(LEAD, request.id, "10.00", "Evidence seen.")

    assert any("differs from the log" in problem for problem in watch.problems)


# ================================================================================================
# 3. The decoder skips constructors, and loses nothing by it
# ================================================================================================


@pytest.fixture
def constructors_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the decoder called {type(self).__name__}'s constructor")

    for transcoding in DATACLASS_TRANSCODINGS:
        monkeypatch.setattr(transcoding.type, "__init__", refuse)


@pytest.fixture(scope="module")
def transcoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Transcoder]:
    """The application's own transcoder: the library's transcodings and the domain's."""
    with store_app("sqlite", tmp_path_factory.mktemp("transcoder")) as app:
        yield app.mapper.transcoder


@pytest.mark.parametrize("transcoding", DATACLASS_TRANSCODINGS, ids=lambda transcoding: transcoding.name)
def test_each_dataclass_decodes_without_its_constructor_equal_typed_and_frozen(
    transcoder, transcoding, constructors_refused
):
    written = SAMPLES[transcoding.name]
    stored = transcoder.encode({"value": written})

    read = transcoder.decode(stored)["value"]

    assert type(read) is type(written)
    assert read == written
    field = dataclasses.fields(read)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(read, field, getattr(read, field))
