"""The AES-GCM nonce budget of the local provider.

Random 96-bit IVs stay safe only up to 2^32 encryptions under one key (NIST SP
800-38D, section 8.3), and an IV collision under GCM is catastrophic, so each key
may encrypt at most :data:`NONCE_LIMIT` times. Usage is reserved a window of
:data:`NONCE_WINDOW` encryptions at a time and the new count is written to the key
file *before* the window is used: a crash can only over-count, never reuse. When the
key file cannot be written (a read-only mount) the budget is enforced per process
only, with a one-time :class:`NonceBudgetNotPersistedWarning`.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import attrs

from haechi.crypto.keyfile import load_key_file, reserve_key_usage
from haechi.errors import CryptoError

__all__ = [
    "NONCE_LIMIT",
    "NONCE_WARN_THRESHOLD",
    "NONCE_WINDOW",
    "NonceBudget",
    "NonceBudgetNotPersistedWarning",
    "NonceBudgetWarning",
    "budget_report",
    "read_nonce_budget",
]

NONCE_LIMIT = 2**32
NONCE_WARN_THRESHOLD = 2**31
NONCE_WINDOW = 2**20


class NonceBudgetWarning(UserWarning):
    """Half of a key's safe encryption budget is used (code ``HAECHI_NONCE_BUDGET``)."""

    code = "HAECHI_NONCE_BUDGET"


class NonceBudgetNotPersistedWarning(UserWarning):
    """The budget cannot be written to the key file and is counted per process
    (code ``HAECHI_NONCE_BUDGET_NOPERSIST``)."""

    code = "HAECHI_NONCE_BUDGET_NOPERSIST"


@attrs.define(slots=True)
class _Reservation:
    kid: str
    base: int
    granted: int
    used: int = 0


def _exhausted_error(kid: str) -> CryptoError:
    return CryptoError(
        f"local AES-256-GCM key {kid} reached its safe encryption limit ({NONCE_LIMIT}); "
        "rotate the key with 'haechi init --force' before encrypting more"
    )


def budget_report(kid: str, used: int) -> dict[str, Any]:
    """The budget fields of §8 for a key that has used ``used`` encryptions."""
    used = min(used, NONCE_LIMIT)
    return {
        "kid": kid,
        "used": used,
        "limit": NONCE_LIMIT,
        "remaining": NONCE_LIMIT - used,
        "usedFraction": used / NONCE_LIMIT,
        "warnThreshold": NONCE_WARN_THRESHOLD,
        "exhausted": used >= NONCE_LIMIT,
    }


def read_nonce_budget(key_file_path: str | Path) -> dict[str, Any]:
    """The persisted budget of the active key of a key file (for ``haechi status``)."""
    active = load_key_file(key_file_path).active
    return budget_report(active.kid, active.usage or 0)


class NonceBudget:
    """Counts the encryptions of one provider instance against the key file's budget.
    Thread-safe; call :meth:`consume` once before generating each IV."""

    def __init__(self, key_file_path: Path):
        self._path = key_file_path
        self._lock = threading.Lock()
        self._reservation: _Reservation | None = None
        self._persist = True
        self._warned = False

    def consume(self, kid: str) -> None:
        """Account one encryption with key ``kid``.

        :raises CryptoError: the key reached :data:`NONCE_LIMIT`.
        """
        with self._lock:
            reservation = self._reservation
            if (
                reservation is None
                or reservation.kid != kid
                or reservation.used >= reservation.granted
            ):
                reservation = self._reserve(kid)
            index = reservation.base + reservation.used
            if index >= NONCE_LIMIT:
                raise _exhausted_error(kid)
            reservation.used += 1
            if index >= NONCE_WARN_THRESHOLD and not self._warned:
                self._warned = True
                warnings.warn(
                    f"{NonceBudgetWarning.code}: local AES-256-GCM key {kid} has used {index} of "
                    f"{NONCE_LIMIT} safe encryptions; plan a key rotation ('haechi init --force')",
                    NonceBudgetWarning,
                    stacklevel=4,
                )

    def used(self, kid: str) -> int | None:
        """Encryptions of ``kid`` counted so far by this instance (None before the first)."""
        with self._lock:
            reservation = self._reservation
            if reservation is None or reservation.kid != kid:
                return None
            return reservation.base + reservation.used

    def _reserve(self, kid: str) -> _Reservation:
        previous = self._reservation
        if not self._persist and previous is not None and previous.kid == kid:
            base = previous.base + previous.granted
        elif self._persist:
            try:
                base = reserve_key_usage(self._path, kid, window=NONCE_WINDOW, limit=NONCE_LIMIT)
            except OSError as error:
                self._persist = False
                cause = error.strerror or type(error).__name__
                warnings.warn(
                    f"{NonceBudgetNotPersistedWarning.code}: local AES-256-GCM nonce budget for "
                    f"key {kid} cannot be persisted ({cause}); enforcing the per-process limit "
                    "only, so cross-restart protection is off: rotate keys on a schedule",
                    NonceBudgetNotPersistedWarning,
                    stacklevel=5,
                )
                base = self._persisted_usage(kid)
        else:
            base = self._persisted_usage(kid)
        if base >= NONCE_LIMIT:
            raise _exhausted_error(kid)
        self._reservation = _Reservation(
            kid=kid, base=base, granted=min(NONCE_WINDOW, NONCE_LIMIT - base)
        )
        return self._reservation

    def _persisted_usage(self, kid: str) -> int:
        entry = load_key_file(self._path).find(kid)
        if entry is None:
            raise CryptoError(f"Active key {kid} not found while reserving nonce budget")
        return entry.usage or 0
