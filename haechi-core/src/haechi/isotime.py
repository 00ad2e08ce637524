"""UTC timestamps in the one text form every Haechi file uses: ISO 8601 with
milliseconds and a ``Z`` suffix, as JavaScript's ``Date.prototype.toISOString`` writes
them (``2024-05-01T12:00:00.000Z``). Strings of this form sort in time order."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_iso", "to_iso", "utc_now"]


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime; raises ``ValueError``
    when ``text`` is not one (a naive timestamp is taken as UTC)."""
    if not isinstance(text, str):
        raise ValueError("timestamp must be a string")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
