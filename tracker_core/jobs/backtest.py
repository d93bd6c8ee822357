"""Detection replayed over stored history: how a manager tunes thresholds before changing them.

Each day of the range is run as ``detect --as-of`` would run it (the same reads, the same
rules), with the stored settings or proposed ones, and fed through the lifecycle in memory
(:class:`tracker_core.incidents.replay.Replay`) to count what would have been announced.
Nothing is written and nothing is sent; the reads happen on one plain connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import Engine

from tracker_core.detection.backtest import Backtest, BacktestDay
from tracker_core.detection.rules import detect
from tracker_core.detection.settings import SettingValue, parse_setting
from tracker_core.incidents.replay import Replay
from tracker_core.jobs.detect import day_end, evaluable_cycle_rules, load_settings, read_input

MAX_BACKTEST_DAYS = 365
"""As far back as the collector keeps history."""


def run_backtest(
    engine: Engine, *, until: date, days: int, changes: Mapping[str, str | float] | None = None
) -> Backtest:
    """Replay detection for the ``days`` UTC days ending with ``until``, oldest first.

    ``changes`` are proposed settings (key to typed text); a bad key or value raises
    :class:`~tracker_core.detection.settings.SettingError` before anything is read.
    """
    if not 1 <= days <= MAX_BACKTEST_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_BACKTEST_DAYS}")
    parsed: dict[str, SettingValue] = {
        key: parse_setting(key, value) for key, value in (changes or {}).items()
    }
    replay = Replay()
    results: list[BacktestDay] = []
    with engine.connect() as conn:
        stored, _ = load_settings(conn)
        settings = replace(stored, **parsed)  # type: ignore[arg-type]
        for offset in range(days - 1, -1, -1):
            day = until - timedelta(days=offset)
            data = read_input(conn, today=day, as_of=True, settings=settings)
            findings = detect(data.members, settings, data.days, data.cycle_start)
            announced = replay.run(
                findings,
                now=day_end(day),
                cycle_start=data.cycle_start,
                cycle_rules_evaluable=evaluable_cycle_rules(data.members, settings),
                days=data.days,
            )
            results.append(BacktestDay(day, tuple(findings), tuple(announced)))
    differing = {k: v for k, v in parsed.items() if getattr(stored, k) != v}
    return Backtest(settings=settings, changes=differing, days=tuple(results))
