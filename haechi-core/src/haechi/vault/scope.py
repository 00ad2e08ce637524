"""Request-scoped tokenize/detokenize.

The proxy opens one :class:`TokenScope` per request: the tokenize action issues
tokens through it, and when the response comes back only *those* tokens are restored.
A ``[TOKEN:...]`` marker of any other request (for example one an attacker pasted into
a prompt to have the model echo it back) stays exactly as it is. Reveal governance
does not apply here: detokenize is its own opt-in (``tokenVault.detokenizeResponses``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haechi.vault.vault import TokenIssue, TokenVault

__all__ = ["MARKER_PREFIX", "StreamingDetokenizer", "TokenScope"]

MARKER_PREFIX = "[TOKEN:"
_MARKER = re.compile(r"\[TOKEN:([^\[\]\s]{1,200})\]")
#: The longest marker the streaming detokenizer holds back while waiting for its end.
_MAX_MARKER_CHARS = len(MARKER_PREFIX) + 200 + 1


class TokenScope:
    """Tokens issued or reused while protecting one request, and their restoration."""

    def __init__(self, vault: TokenVault):
        self._vault = vault
        self._lock = threading.Lock()
        self._issued: set[str] = set()
        self._restored: dict[str, str] = {}
        self._failed: set[str] = set()

    @property
    def tokens(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._issued)

    def tokenize(
        self, value: str, type: str, *, path_text: str, rule_id: str, context: Mapping[str, Any]
    ) -> TokenIssue:
        """:meth:`TokenVault.tokenize`, remembering the token for this request."""
        issue = self._vault.tokenize(
            value, type, path_text=path_text, rule_id=rule_id, context=context
        )
        with self._lock:
            self._issued.add(issue.token)
        return issue

    def detokenize_text(self, text: str) -> tuple[str, int, int]:
        """Replace ``[TOKEN:<t>]`` by its plaintext for every ``t`` of this scope.

        :returns: ``(text, restored, not_restored)``, the numbers of distinct scope
            tokens in ``text`` that were / could not be restored (unknown, expired or
            undecryptable). Foreign markers are left untouched and not counted.
        """
        restored: set[str] = set()
        failed: set[str] = set()

        def substitute(match: re.Match[str]) -> str:
            token = match.group(1)
            if token not in self.tokens:
                return match.group(0)
            plaintext = self._plaintext(token)
            if plaintext is None:
                failed.add(token)
                return match.group(0)
            restored.add(token)
            return plaintext

        if MARKER_PREFIX not in text:
            return text, 0, 0
        result = _MARKER.sub(substitute, text)
        return result, len(restored), len(failed)

    def _plaintext(self, token: str) -> str | None:
        with self._lock:
            if token in self._failed:
                return None
            if token in self._restored:
                return self._restored[token]
        record = self._vault.store.get(token)
        plaintext = (
            None if record is None or self._vault.is_expired(record) else self._vault._open(record)
        )
        with self._lock:
            if plaintext is None:
                self._failed.add(token)
            else:
                self._restored[token] = plaintext
        return plaintext

    def stream(self) -> StreamingDetokenizer:
        """A detokenizer for text that arrives in pieces (stream deltas)."""
        return StreamingDetokenizer(self)

    def audit_detokenize(self) -> None:
        """Write the request's ``detokenize`` event: the count of restored tokens and
        ``"<n> tokens not restored"`` (or null), never a value."""
        self._vault.record_detokenize(*self._counts())

    def detokenize_event(self) -> dict[str, Any]:
        """The event :meth:`audit_detokenize` writes, for a caller that stores it."""
        return self._vault.detokenize_event(*self._counts())

    def _counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._restored), len(self._failed)


class StreamingDetokenizer:
    """Detokenizes a text delivered in chunks: a marker split across chunks is held
    back (at most one marker's length) until its end arrives or the stream ends."""

    def __init__(self, scope: TokenScope):
        self._scope = scope
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """The text that can be emitted now, with this scope's markers restored."""
        text = self._pending + chunk
        cut = _incomplete_marker_start(text)
        self._pending = text[cut:]
        return self._scope.detokenize_text(text[:cut])[0]

    def flush(self) -> str:
        """Whatever is still held back (an unfinished marker is emitted as is)."""
        text, self._pending = self._pending, ""
        return self._scope.detokenize_text(text)[0]


def _incomplete_marker_start(text: str) -> int:
    """Where a possibly unfinished marker starts at the end of ``text`` (or its length)."""
    start = text.rfind("[", max(0, len(text) - _MAX_MARKER_CHARS))
    while start != -1:
        tail = text[start:]
        if "]" not in tail and (MARKER_PREFIX.startswith(tail) or tail.startswith(MARKER_PREFIX)):
            return start
        start = text.rfind("[", max(0, len(text) - _MAX_MARKER_CHARS), start)
    return len(text)
