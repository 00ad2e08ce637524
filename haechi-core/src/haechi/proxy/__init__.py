"""The HTTP proxy (``haechi proxy``, spec section 5): an aiohttp app that protects LLM
requests on their way to the upstream and their responses on the way back.

:func:`create_app` builds the app for a :class:`haechi.runtime.Runtime`; :func:`serve`
runs it with the bind guard, TLS and a graceful drain.
"""

from __future__ import annotations

from haechi.proxy.app import create_app
from haechi.proxy.server import serve

__all__ = ["create_app", "serve"]
