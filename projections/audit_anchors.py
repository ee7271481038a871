"""Audit anchors: the chain's head, written down where the database's administrators cannot reach.

The audit chain shows that the log was not edited, reordered or cut in the middle. It cannot show
that the log was not cut at its end: delete the last events with their links and the chain that is
left is whole. Only a record kept outside the database can catch that. An anchor is one: the
position and link of the chain's head at a moment, with the time, and an HMAC under the audit key
when one is set, in a small JSON file. ``audit verify --anchor`` then fails, naming the anchor,
when the log no longer reaches an anchor's position or its link there differs.

A council keeps anchors where whoever can write to the database cannot: printed in the minutes of
a panel meeting, mailed to the auditor, or written by the server to storage the database's
administrators cannot change (a write-once bucket, another team's file share).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projections.audit_chain import GENESIS
from projections.database import ProjectionDatabase
from projections.engine import ProjectionError, utc_now_text

FORMAT = "funding-engine-audit-anchor/1"
SUFFIX = ".anchor.json"


class AnchorError(ProjectionError):
    """An anchor cannot be written or read (the path, the file's contents)."""


@dataclass(frozen=True)
class Anchor:
    position: int
    hash: str
    written_at: str
    hmac: str | None  # under the audit key, when the chain is keyed
    source: str = ""  # the file it was read from

    def fields(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "position": self.position,
            "hash": self.hash,
            "written_at": self.written_at,
            "hmac": self.hmac,
        }


@dataclass(frozen=True)
class AnchorCheck:
    anchor: Anchor | None
    source: str
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def anchor_hmac(key: bytes, position: int, link: str, written_at: str) -> str:
    message = f"{FORMAT}\n{position}\n{link}\n{written_at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def chain_head(database: ProjectionDatabase) -> tuple[int, str]:
    """The position and link of the last event the chain covers (0 and the genesis value if none)."""
    with database.reading() as cursor:
        cursor.execute("SELECT position, hash FROM audit_chain ORDER BY position DESC LIMIT 1")
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def take_anchor(database: ProjectionDatabase, key: bytes | None) -> Anchor:
    position, link = chain_head(database)
    written_at = utc_now_text()  # to the second: the anchor format (docs/AUDIT_CHAIN.md) and its HMAC say so
    return Anchor(position, link, written_at, anchor_hmac(key, position, link, written_at) if key else None)


def write_anchor(anchor: Anchor, target: Path) -> Path:
    """Into ``target`` if it is a folder (one new file per anchor), else as the file ``target``.

    Never over an existing file, never through a symbolic link: an anchor, once written, stands.
    """
    path = target / f"anchor-{anchor.position:012d}-{anchor.written_at.replace(':', '')}{SUFFIX}"
    if not target.is_dir():
        path = target
    text = json.dumps(anchor.fields(), indent=2) + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise AnchorError(f"{path} exists already; an anchor is never written over another") from None
    except OSError as error:
        raise AnchorError(f"cannot write the anchor to {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return path


def newest_position(folder: Path) -> int | None:
    """The highest position anchored in ``folder`` (None if it holds no anchor)."""
    positions = []
    for path in folder.glob(f"anchor-*{SUFFIX}"):
        try:
            positions.append(int(path.name.split("-")[1]))
        except (IndexError, ValueError):
            continue
    return max(positions) if positions else None


def read_anchors(path: Path) -> list[AnchorCheck]:
    """Every anchor in ``path`` (a file, or a folder of ``*.anchor.json``), or why one cannot be read."""
    if path.is_dir():
        files = sorted(path.glob(f"*{SUFFIX}"))
        if not files:
            return [AnchorCheck(None, str(path), f"no anchor files (*{SUFFIX}) in this folder")]
    elif path.exists():
        files = [path]
    else:
        return [AnchorCheck(None, str(path), "no such file or folder")]
    return [_read_one(file) for file in files]


def _read_one(file: Path) -> AnchorCheck:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        position, link, written_at, mac = data["position"], data["hash"], data["written_at"], data.get("hmac")
        if type(position) is not int or position < 0:
            raise ValueError("position must be a whole number")
        if not isinstance(link, str) or len(link) != 64 or not isinstance(written_at, str):
            raise ValueError("hash must be 64 hex digits and written_at a time")
        if mac is not None and not isinstance(mac, str):
            raise ValueError("hmac must be text")
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as error:
        return AnchorCheck(None, str(file), f"not a readable anchor: {error}")
    return AnchorCheck(Anchor(position, link, written_at, mac, str(file)), str(file), None)


def check_anchors(
    read: list[AnchorCheck], links_at: dict[int, str], log_head: int, chain_ok: bool, key: bytes | None
) -> list[AnchorCheck]:
    """Each anchor against the log: it must reach the anchor's position with the same link there."""
    checked = []
    for item in read:
        anchor = item.anchor
        if anchor is None:
            checked.append(item)
            continue
        checked.append(AnchorCheck(anchor, item.source, _problem(anchor, links_at, log_head, chain_ok, key)))
    return checked


def _problem(anchor: Anchor, links_at: dict[int, str], log_head: int, chain_ok: bool, key: bytes | None) -> str | None:
    if anchor.hmac is not None:
        if key is None:
            return "the anchor carries an HMAC; set FUNDING_ENGINE_AUDIT_KEY to check it"
        if not hmac.compare_digest(anchor.hmac, anchor_hmac(key, anchor.position, anchor.hash, anchor.written_at)):
            return "the anchor's own HMAC does not verify: the file was altered, or written under another key"
    if anchor.position > log_head:
        return (
            f"the log ends at position {log_head}, before this anchor's position {anchor.position}: events were removed"
        )
    if anchor.position == 0:
        return None if anchor.hash == GENESIS else "an anchor at position 0 must hold the genesis value"
    computed = links_at.get(anchor.position)
    if computed is None:
        if not chain_ok:
            return "not checked: the log was altered before this anchor's position"
        return f"the log has no event at this anchor's position {anchor.position}: events were removed"
    if not hmac.compare_digest(computed, anchor.hash):
        return f"the log differs from this anchor at or before position {anchor.position}"
    return None
