"""Tell systemd that the daemon is ready or stopping: the sd_notify protocol, standard library only.

Under ``Type=notify`` systemd holds ``systemctl start`` and every unit ordered after this one
until ``READY=1`` arrives, so they meet a daemon that is listening rather than one still
importing; ``STOPPING=1`` tells it a stop is under way so a slow graceful stop is not taken for a
hang. Outside systemd ``$NOTIFY_SOCKET`` is unset and every call does nothing, so the daemon calls
these unconditionally. A notification that cannot be delivered is reported by the return value,
never raised: systemd itself times out a daemon that never reports ready.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["notify", "ready", "stopping"]


def _address(value: str) -> str | None:
    """The socket address ``$NOTIFY_SOCKET`` names: a path, or ``@name`` in the abstract namespace.

    Other forms (``vsock:``) are not used by a service manager on the same host; they are ignored.
    """
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``KEY=value`` lines) to the service manager; ``True`` when it was sent."""
    address = _address((os.environ if environ is None else environ).get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError:
        return False
    return True


def ready(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """The daemon listens: ``systemctl start`` returns; ``status`` shows in ``systemctl status``."""
    line = "".join(ch for ch in status if ch.isprintable())
    return notify("READY=1" + (f"\nSTATUS={line}" if line else ""), environ)


def stopping(environ: Mapping[str, str] | None = None) -> bool:
    """A stop has begun: systemd waits up to ``TimeoutStopSec=`` for the running job to finish."""
    return notify("STOPPING=1", environ)
