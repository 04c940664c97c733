"""Ids and timestamps for the conversation log.

Ids are ULIDs written in lowercase Crockford base32: 26 characters, a 48-bit millisecond
timestamp followed by 80 random bits. They sort by creation time as plain strings, so the
newest conversation is simply the largest id, and a short prefix is enough to name one.

Timestamps are ISO-8601 UTC strings with milliseconds and a "Z": they also sort as strings.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timezone

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford: no i, l, o, u
ID_LENGTH = 26
_RANDOM_BITS = 80
_MAX_RANDOM = (1 << _RANDOM_BITS) - 1

_lock = threading.Lock()
_last_ms = -1
_last_random = 0
_last_now_ms = -1


def _encode(ms: int, random: int) -> str:
    value = (ms << _RANDOM_BITS) | random
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(ID_LENGTH)))


def new_id() -> str:
    """A new ULID. Ids made in the same millisecond still sort in creation order
    (the random part is incremented, as the ULID spec's monotonic mode does)."""
    global _last_ms, _last_random
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # same millisecond (or the clock stepped back): keep ids increasing
            ms, random = _last_ms, _last_random + 1
            if random > _MAX_RANDOM:
                ms, random = ms + 1, secrets.randbits(_RANDOM_BITS - 1)
        else:
            # start low in the random space so increments cannot overflow in practice
            random = secrets.randbits(_RANDOM_BITS - 1)
        _last_ms, _last_random = ms, random
    return _encode(ms, random)


def new_scattered_id() -> str:
    """A ULID for records made in bursts and named by prefix (preferences extracted
    together): its random part is not incremented, so ids made in the same millisecond
    differ right after the 10-character timestamp. They do not sort in creation order
    within a millisecond: order such records by their timestamps."""
    return id_at(time.time_ns() // 1_000_000)


def id_at(ms: int, key: str | None = None) -> str:
    """A ULID for a moment in the past (imports). With `key`, the random part is derived
    from it, so importing the same record twice gives the same id."""
    ms = max(0, min(int(ms), (1 << 48) - 1))
    if key is None:
        return _encode(ms, secrets.randbits(_RANDOM_BITS))
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return _encode(ms, int.from_bytes(digest[:10], "big"))


def is_id(value: object) -> bool:
    """Whether `value` is a well-formed (lowercase) ULID."""
    return (
        isinstance(value, str)
        and len(value) == ID_LENGTH
        and value[0] <= "7"  # 26 chars hold 130 bits; a ULID uses 128
        and all(c in ALPHABET for c in value)
    )


def now() -> str:
    """The current time as an ISO-8601 UTC string with milliseconds. Within a process it
    never repeats or goes back (a call in the same millisecond gets the next one), so
    "most recently updated" is never a tie."""
    global _last_now_ms
    with _lock:
        ms = max(time.time_ns() // 1_000_000, _last_now_ms + 1)
        _last_now_ms = ms
    return from_epoch_ms(ms)


def from_datetime(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_epoch(seconds: float) -> str:
    return from_datetime(datetime.fromtimestamp(seconds, tz=timezone.utc))


def from_epoch_ms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)  # integer maths: no float drift
    return from_datetime(dt.replace(microsecond=ms % 1000 * 1000))


def to_epoch_ms(timestamp: str) -> int:
    """Milliseconds since the epoch for one of our timestamps (or any ISO-8601 string)."""
    dt = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)
