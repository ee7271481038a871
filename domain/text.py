"""Written text as the domain takes it: as written, but never blank, unstorable or misleading.

Reasons, questions and summaries are kept exactly as a person wrote them (an auditor reads them
years later), so nothing is trimmed or rewritten: text that breaks a rule is refused instead.
"""

from __future__ import annotations

import re
import unicodedata

from domain import limits
from domain.errors import InvalidValue

_CONTROL_CHARACTER = re.compile(f"[{limits.CONTROL_CHARACTERS}]")
_LONE_SURROGATE = re.compile(f"[{limits.LONE_SURROGATES}]")


def check_text(value: str, *, field: str, max_length: int = limits.LONG_TEXT, required: bool = True) -> str:
    """Free text as written, refusing blanks (when required), control characters and essays."""
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be text")
    if required and not value.strip():
        raise InvalidValue(f"{field} must not be blank")
    if len(value) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters")
    if _CONTROL_CHARACTER.search(value):
        raise InvalidValue(f"{field} must not contain control characters")
    if _LONE_SURROGATE.search(value):
        raise InvalidValue(f"{field} must be valid Unicode text (it contains a lone surrogate)")
    return value


def check_identity(value: str, *, field: str) -> str:
    """A staff id as a token carries it: short text with nothing invisible or reordering in it."""
    check_text(value, field=field, max_length=limits.SHORT_TEXT)
    if value.isascii() and value.isprintable():  # the usual case, and none of those categories
        return value
    for character in value:
        if unicodedata.category(character) in limits.INVISIBLE_IN_STAFF_IDS:
            raise InvalidValue(
                f"{field} must not contain control, formatting or bidirectional characters "
                f"(it contains U+{ord(character):04X})"
            )
    return value
