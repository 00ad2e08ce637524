"""Actions: what happens to a detected span.

Each action is a registered class (hook ``haechi_register_actions``) with a ``NAME``, an
integer ``STRENGTH`` used by the policy merge rules, and ``BLOCKS``. A non-blocking action
returns the replacement text for one finding from ``replacement(finding, services)``, or
``None`` to leave the span as it is (``allow``). Replacements apply only in ``enforce`` mode.
"""

from haechi.actions.services import ActionServices

__all__ = ["ActionServices"]
