"""The read models: one module per view, each a frozen dataclass with a ``to_json``.

Faces (the command line, the console, the daemon) read figures only from here and never
write SQL of their own. Money is in cents until a face formats it (``dollars`` in JSON);
days are UTC. A figure shown by two views (window spend, members, per-day and per-member
spend, the cycle) is computed once, in ``_shared``, so the faces cannot disagree.
"""

from tracker_core.views._shared import DEFAULT_DAYS, dollars

__all__ = ["DEFAULT_DAYS", "dollars"]
