"""Protocol adapters for the proxy (spec section 5).

An adapter classifies a request path into a :class:`Route`: its id, whether it streams by
default, and how a streamed response is framed. It does not choose which JSON paths are
scanned: the whole body is always walked. Each module registers its adapters through
``haechi_register_protocol_adapters``; config selects one by ``target.type`` or
``target.adapter``.
"""

from __future__ import annotations

from haechi.adapters.route import UNKNOWN_ROUTE, Route, StreamFormat

__all__ = ["UNKNOWN_ROUTE", "Route", "StreamFormat"]
