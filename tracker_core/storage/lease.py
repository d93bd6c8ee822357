"""A lease in the database so only one collector runs at a time, across processes and hosts.

A file lock would only cover one machine, and several hosts may share a PostgreSQL database, so
the lease is a row: whoever holds an unexpired row owns the collection. The holder renews it
while working; if it dies, the row expires after its time to live. A collector killed on this
very host need not wait that long: its holder string names the host and pid, and a pid that no
longer exists here frees the lease at once.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, case, delete, select, update

from tracker_core.clock import Clock, utc_now
from tracker_core.errors import LeaseHeldError
from tracker_core.storage import tables as t
from tracker_core.storage.db import begin_write
from tracker_core.storage.repo import dialect_insert

COLLECTOR_LEASE = "collector"
DETECTOR_LEASE = "detector"
"""Held by a detection run from its first write to its last alert, so two runs at once (cron and
a person pressing ``c``) can neither open the same anomaly twice nor send the same alert twice."""


def make_holder() -> str:
    """A holder string for this process: ``host:pid:random``.

    The random part tells two holders apart when a pid is reused, or when the same process
    takes the lease twice on purpose (tests).
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _parse_holder(holder: str) -> tuple[str, int] | None:
    parts = holder.rsplit(":", 2)
    if len(parts) != 3:
        return None
    host, pid, _ = parts
    try:
        return host, int(pid)
    except ValueError:
        return None


def holder_is_dead_locally(holder: str) -> bool:
    """True when ``holder`` ran on this host and its process is gone.

    Only a definite "no such process" counts: a process owned by another user (permission
    error), a holder on another host or an unparseable holder are all treated as alive, because
    wrongly taking over a live collector is worse than waiting for the lease to expire.
    """
    parsed = _parse_holder(holder)
    if parsed is None:
        return False
    host, pid = parsed
    if host != socket.gethostname() or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def try_acquire(engine: Engine, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
    """Take the lease if it is free, expired, already ours, or held by a dead local process.

    The take-over is a single conditional upsert, so two contenders can never both win; the
    dead-holder case is a compare-and-swap on the holder seen, for the same reason.
    """
    expires = now + timedelta(seconds=ttl_seconds)
    leases = t.leases
    with begin_write(engine) as conn:
        stmt = dialect_insert(conn, leases).values(
            name=name, holder=holder, acquired_at=now, expires_at=expires
        )
        incoming = stmt.excluded
        taken = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "holder": incoming.holder,
                    # Re-acquiring our own lease keeps the time we first took it.
                    "acquired_at": case(
                        (leases.c.holder == incoming.holder, leases.c.acquired_at),
                        else_=incoming.acquired_at,
                    ),
                    "expires_at": incoming.expires_at,
                },
                where=(leases.c.expires_at <= now) | (leases.c.holder == holder),
            ),
            # SQLAlchemy only keeps the row count of UPDATE and DELETE unless asked.
            execution_options={"preserve_rowcount": True},
        )
        if taken.rowcount == 1:
            return True
        current = conn.execute(
            select(leases.c.holder).where(leases.c.name == name)
        ).scalar_one_or_none()
        if current is None or not holder_is_dead_locally(current):
            return False
        swapped = conn.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.holder == current)
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        return swapped.rowcount == 1


def renew(engine: Engine, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
    """Extend our lease; False means someone else holds it now and we must stop."""
    with engine.begin() as conn:
        result = conn.execute(
            update(t.leases)
            .where(t.leases.c.name == name, t.leases.c.holder == holder)
            .values(expires_at=now + timedelta(seconds=ttl_seconds))
        )
        return result.rowcount == 1


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up, if we still hold it (never someone else's)."""
    with engine.begin() as conn:
        conn.execute(delete(t.leases).where(t.leases.c.name == name, t.leases.c.holder == holder))


def current_holder(engine: Engine, name: str) -> tuple[str, datetime, datetime] | None:
    """Who holds ``name`` (holder, acquired_at, expires_at), expired or not; None if nobody."""
    with engine.connect() as conn:
        row = conn.execute(
            select(t.leases.c.holder, t.leases.c.acquired_at, t.leases.c.expires_at).where(
                t.leases.c.name == name
            )
        ).one_or_none()
    if row is None:
        return None
    return row[0], row[1], row[2]


def describe_holder(holder: str) -> str:
    """A holder string for a person: ``host pid 123``."""
    parsed = _parse_holder(holder)
    if parsed is None:
        return holder
    host, pid = parsed
    return f"{host} pid {pid}"


def acquire(
    engine: Engine,
    name: str,
    holder: str,
    ttl_seconds: float,
    wait_seconds: float,
    poll: float = 0.2,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Take the lease, waiting up to ``wait_seconds`` for its holder to finish.

    Raises LeaseHeldError naming who holds it and since when, so a person knows whether to
    wait or to look for a stuck process.
    """
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        if try_acquire(engine, name, holder, ttl_seconds, clock()):
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sleep(min(poll, remaining))
    held = current_holder(engine, name)
    if held is None:
        # Released between our last attempt and now: one more try is cheap and honest.
        if try_acquire(engine, name, holder, ttl_seconds, clock()):
            return
        held = current_holder(engine, name)
    if held is None:
        raise LeaseHeldError(f"another {name} is running; try again when it finishes")
    other, since, _expires = held
    raise LeaseHeldError(
        f"another {name} is running (since {since.astimezone(UTC):%H:%M:%S} UTC, "
        f"holder {describe_holder(other)}); try again when it finishes"
    )
