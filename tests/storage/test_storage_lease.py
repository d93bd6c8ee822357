"""The collector lease: one holder at a time, expiry, dead-process take-over and waiting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tracker_core.errors import LeaseHeldError, StorageError
from tracker_core.storage import (
    acquire,
    current_holder,
    holder_is_dead_locally,
    make_engine,
    make_holder,
    open_database,
    release,
    renew,
    try_acquire,
)

T0 = datetime(2025, 3, 3, 9, 15, 42, tzinfo=UTC)
HOST = socket.gethostname()


def exited_pid() -> int:
    """The pid of a process that has run and been reaped, so it no longer exists."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_one_holder_at_a_time_until_release(db_engine: Engine) -> None:
    first, second = make_holder(), make_holder()
    assert try_acquire(db_engine, "collector", first, 60, T0)
    assert not try_acquire(db_engine, "collector", second, 60, T0 + timedelta(seconds=30))
    assert current_holder(db_engine, "collector") == (first, T0, T0 + timedelta(seconds=60))

    release(db_engine, "collector", second)  # not the holder: no effect
    assert current_holder(db_engine, "collector") is not None
    release(db_engine, "collector", first)
    assert current_holder(db_engine, "collector") is None
    assert try_acquire(db_engine, "collector", second, 60, T0 + timedelta(seconds=31))


def test_leases_are_independent_by_name(db_engine: Engine) -> None:
    assert try_acquire(db_engine, "collector", make_holder(), 60, T0)
    assert try_acquire(db_engine, "daemon", make_holder(), 60, T0)


def test_reacquiring_our_own_lease_extends_it_and_keeps_the_start(db_engine: Engine) -> None:
    holder = make_holder()
    assert try_acquire(db_engine, "collector", holder, 60, T0)
    later = T0 + timedelta(seconds=50)
    assert try_acquire(db_engine, "collector", holder, 60, later)
    assert current_holder(db_engine, "collector") == (holder, T0, later + timedelta(seconds=60))


def test_an_expired_lease_is_taken_over(db_engine: Engine) -> None:
    stale, fresh = make_holder(), make_holder()
    assert try_acquire(db_engine, "collector", stale, 60, T0)
    assert not try_acquire(db_engine, "collector", fresh, 60, T0 + timedelta(seconds=59))
    takeover = T0 + timedelta(seconds=60)
    assert try_acquire(db_engine, "collector", fresh, 60, takeover)
    assert current_holder(db_engine, "collector") == (
        fresh,
        takeover,
        takeover + timedelta(seconds=60),
    )
    assert not renew(db_engine, "collector", stale, 60, takeover), "the old holder must notice"


def test_renew_extends_only_the_holders_lease(db_engine: Engine) -> None:
    holder = make_holder()
    assert not renew(db_engine, "collector", holder, 60, T0), "nothing to renew yet"
    assert try_acquire(db_engine, "collector", holder, 60, T0)
    assert renew(db_engine, "collector", holder, 120, T0 + timedelta(seconds=50))
    held = current_holder(db_engine, "collector")
    assert held is not None and held[2] == T0 + timedelta(seconds=170)
    # Renewed, so still held at a time the original lease would have expired.
    assert not try_acquire(db_engine, "collector", make_holder(), 60, T0 + timedelta(seconds=90))


def test_a_dead_local_holder_is_taken_over_at_once(db_engine: Engine) -> None:
    dead = f"{HOST}:{exited_pid()}:deadbeef"
    assert holder_is_dead_locally(dead)
    assert try_acquire(db_engine, "collector", dead, 3600, T0)

    successor = make_holder()
    later = T0 + timedelta(seconds=5)
    assert try_acquire(db_engine, "collector", successor, 60, later)
    assert current_holder(db_engine, "collector") == (
        successor,
        later,
        later + timedelta(seconds=60),
    )


def test_live_or_remote_holders_are_not_taken_over(db_engine: Engine) -> None:
    live_here = f"{HOST}:{os.getppid()}:cafe0001"
    assert try_acquire(db_engine, "collector", live_here, 3600, T0)
    assert not try_acquire(db_engine, "collector", make_holder(), 60, T0 + timedelta(seconds=5))

    elsewhere = f"other-{HOST}:{exited_pid()}:cafe0002"
    assert try_acquire(db_engine, "remote", elsewhere, 3600, T0)
    assert not try_acquire(db_engine, "remote", make_holder(), 60, T0 + timedelta(seconds=5))


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param(lambda: f"{HOST}:{os.getpid()}:ab", id="this-process"),
        pytest.param(lambda: f"{HOST}:1:ab", id="init"),
        pytest.param(lambda: f"elsewhere-{HOST}:{exited_pid()}:ab", id="other-host"),
        pytest.param(lambda: "not-a-holder", id="malformed"),
        pytest.param(lambda: f"{HOST}:pid:ab", id="pid-not-a-number"),
    ],
)
def test_holder_is_alive_unless_proven_dead(holder: Callable[[], str]) -> None:
    assert holder_is_dead_locally(holder()) is False


def test_make_holder_names_host_and_pid() -> None:
    host, pid, token = make_holder().rsplit(":", 2)
    assert (host, int(pid)) == (HOST, os.getpid())
    assert token and make_holder() != make_holder()


def _race(engines: list[Engine], name: str) -> list[bool]:
    """Every engine tries to take ``name`` at the same instant; returns who won."""
    barrier = threading.Barrier(len(engines))
    results: list[bool] = []
    errors: list[BaseException] = []

    def contend(engine: Engine) -> None:
        try:
            barrier.wait()
            results.append(try_acquire(engine, name, make_holder(), 60, T0))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_racing_contenders_produce_exactly_one_winner(db_url: str) -> None:
    """Each contender has its own engine, hence its own connections, like separate processes."""
    engines = [open_database(db_url)] + [make_engine(db_url) for _ in range(3)]
    try:
        for round_ in range(5):
            results = _race(engines, f"lease-{round_}")
            assert sorted(results) == [False, False, False, True]
    finally:
        for engine in engines:
            engine.dispose()


def test_acquire_gives_up_with_a_message_naming_the_holder(db_engine: Engine) -> None:
    assert try_acquire(db_engine, "collector", "build-7:4242:00ff", 600, T0)
    clock_calls: list[datetime] = []

    def clock() -> datetime:
        clock_calls.append(T0 + timedelta(seconds=len(clock_calls)))
        return clock_calls[-1]

    with pytest.raises(LeaseHeldError) as caught:
        acquire(db_engine, "collector", make_holder(), 60, wait_seconds=0.3, poll=0.05, clock=clock)
    assert str(caught.value) == (
        "another collector is running (since 09:15:42 UTC, holder build-7 pid 4242); "
        "try again when it finishes"
    )
    assert isinstance(caught.value, StorageError)
    assert len(clock_calls) > 1, "it retried while waiting"


def test_acquire_waits_for_the_holder_to_release(db_engine: Engine) -> None:
    holder = make_holder()
    assert try_acquire(db_engine, "collector", holder, 600, datetime.now(UTC))
    releaser = threading.Timer(0.3, release, args=(db_engine, "collector", holder))
    releaser.start()
    waiter = make_holder()
    try:
        acquire(db_engine, "collector", waiter, 60, wait_seconds=10, poll=0.05)
    finally:
        releaser.join()
    held = current_holder(db_engine, "collector")
    assert held is not None and held[0] == waiter
