"""Cursor's per-minute quota, kept in the database so every process that collects shares it.

The limiter of :mod:`tracker_core.cursor_api.ratelimit` keeps one process under the limit.
The daemon's scheduled run and a console's ``c`` are two processes on one database: the
collector lease runs them one after the other, but the second would start with an empty
limiter while the first one's last minute of requests still counts at Cursor, and send a
minute's worth more. The ledger is the same sliding-window log, in rows of the lease table
(no table of its own): one row per slot, ``max_requests`` slots per API and team, each
holding when its request went and when it leaves the window: a request in flight holds its
slot, and its answer dates it (Cursor counts a request when it arrives, before the answer).
A request takes a slot whose window has passed with a conditional upsert, so two processes
never take the same slot; when every slot is still in its window, the caller waits until the
first one frees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from tracker_core.storage import tables as t
from tracker_core.storage.db import begin_write
from tracker_core.storage.repo import dialect_insert

Clock = Callable[[], float]

HOLDER = "request-ledger"
"""The holder of every slot row: no process owns a slot, it only dates a request."""


def _slot_prefix(api: str, key: str) -> str:
    """``quota:Admin:3f2a...:``: per API and team; the key is held only as a hash."""
    return f"quota:{api}:{hashlib.sha256(key.encode()).hexdigest()[:16]}:"


class RequestLedger:
    """Grants requests against a quota shared through ``engine`` (see the module's note)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grant(
        self, api: str, key: str, max_requests: int, window_seconds: float, clock: Clock
    ) -> float:
        """Record one request sent and answered now and return 0, or return the seconds until
        a slot frees (nothing recorded then)."""
        wait, _slot = self.take(api, key, max_requests, window_seconds, clock)
        return wait

    def take(
        self,
        api: str,
        key: str,
        max_requests: int,
        window_seconds: float,
        clock: Clock,
        in_flight_seconds: float = 0.0,
    ) -> tuple[float, LedgerSlot | None]:
        """Take a slot for one request about to leave, held for ``in_flight_seconds`` beyond
        the window until :meth:`settle` dates it by its answer; or return the seconds until a
        slot frees (nothing taken then). ``clock`` (epoch seconds) is read once the database's
        write lock is held: time spent waiting for it must not make the request look older."""
        prefix = _slot_prefix(api, key)
        leases = t.leases
        with begin_write(self.engine) as conn:
            moment = datetime.fromtimestamp(clock(), UTC)
            held = _held_slots(conn, prefix, max_requests)
            for slot in range(max_requests):
                name = f"{prefix}{slot}"
                if name in held and held[name] > moment:
                    continue
                stmt = dialect_insert(conn, leases).values(
                    name=name,
                    holder=HOLDER,
                    acquired_at=moment,
                    expires_at=moment + timedelta(seconds=window_seconds + in_flight_seconds),
                )
                taken = conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["name"],
                        set_={
                            "acquired_at": stmt.excluded.acquired_at,
                            "expires_at": stmt.excluded.expires_at,
                        },
                        where=leases.c.expires_at <= moment,
                    ),
                    execution_options={"preserve_rowcount": True},
                )
                if taken.rowcount == 1:
                    return 0.0, LedgerSlot(name, moment)
            frees = min(held.values(), default=moment)
        return max((frees - moment).total_seconds(), 0.001), None

    def settle(self, slot: LedgerSlot, window_seconds: float, clock: Clock) -> None:
        """The slot's request was answered now: it leaves the window ``window_seconds`` from
        now. The server dated it when it arrived, before its answer, so a slot dated by the
        answer is never younger than the server's own count however slow the trip was."""
        leases = t.leases
        with begin_write(self.engine) as conn:
            moment = datetime.fromtimestamp(clock(), UTC)
            conn.execute(
                update(leases)
                .where(leases.c.name == slot.name, leases.c.acquired_at == slot.taken_at)
                .values(expires_at=moment + timedelta(seconds=window_seconds))
            )


@dataclass(frozen=True)
class LedgerSlot:
    """A slot taken for a request in flight (see :meth:`RequestLedger.take`)."""

    name: str
    taken_at: datetime


def _held_slots(conn: Connection, prefix: str, max_requests: int) -> dict[str, datetime]:
    """When each slot row of this quota leaves its window, by slot name.

    Read by the names' common prefix, not by listing every slot: a quota may be configured up
    to 10,000 requests a minute, and a query naming every slot cost tens of milliseconds on
    each request. Rows of slots beyond a ceiling lowered since are left out, as before.
    """
    leases = t.leases
    rows = conn.execute(
        select(leases.c.name, leases.c.expires_at).where(
            leases.c.name.startswith(prefix, autoescape=True)
        )
    )
    held: dict[str, datetime] = {}
    for name, expires in rows:
        slot = name[len(prefix) :]
        # SQLite's LIKE ignores case: the prefix is compared again here, exactly.
        if name.startswith(prefix) and slot.isdigit() and int(slot) < max_requests:
            held[name] = _utc(expires)
    return held


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["LedgerSlot", "RequestLedger"]
