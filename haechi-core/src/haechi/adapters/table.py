"""The common shape of the built-in adapters: an exact-path route table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from haechi.adapters.route import UNKNOWN_ROUTE, Route

__all__ = ["PathTableAdapter"]


class PathTableAdapter:
    """Classifies a request by its exact path (the query string is not part of it).

    Subclasses set ``NAME``, ``ALIASES`` and ``ROUTES``. Any HTTP method is classified the
    same way: the path alone decides, as in the reference.
    """

    NAME: ClassVar[str]
    ALIASES: ClassVar[tuple[str, ...]] = ()
    ROUTES: ClassVar[Mapping[str, Route]]

    def classify(self, method: str, path: str) -> Route:
        return self.ROUTES.get(path, UNKNOWN_ROUTE)
