"""Late delivery: the simulated API shows an event only some time after its timestamp.

Cursor aggregates usage and delivers events late (integrations report hours, sometimes more
than 12). A simulator that shows every event the instant it happens cannot test that a
collector catches late ones, so each event here gets a delay drawn from a distribution of
bands ("90 % within 10 minutes, 9 % within 12 hours, 1 % up to 36 hours") and is served only
once the simulator's present has passed its timestamp plus that delay. Daily-usage rows are
derived from the visible events, so a day's row keeps changing until the day is final.

Delays are drawn once per event from a seeded generator, so the same scenario and seed give
the same delivery in every run, and a scaled clock can replay a day of hourly runs in seconds.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

MINUTE_MS: Final = 60_000


@dataclass(frozen=True)
class DelayBand:
    """A share of the events, delayed uniformly between two bounds (minutes)."""

    share: float
    min_minutes: float
    max_minutes: float

    def to_json(self) -> dict[str, float]:
        return {"share": self.share, "minMinutes": self.min_minutes, "maxMinutes": self.max_minutes}


DEFAULT_BANDS: Final = (
    DelayBand(0.90, 0.0, 10.0),
    DelayBand(0.09, 10.0, 12 * 60.0),
    DelayBand(0.01, 12 * 60.0, 36 * 60.0),
)
"""Most events within minutes, a tail of hours, a few up to 36 hours."""


class DeliveryError(ValueError):
    """A late-delivery setting that cannot be used (the message names the part)."""


@dataclass(frozen=True)
class LateDelivery:
    """The delay distribution; ``bands``' shares add up to 1."""

    bands: tuple[DelayBand, ...] = DEFAULT_BANDS
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.bands:
            raise DeliveryError("lateDelivery.bands: expected at least one band")
        for n, band in enumerate(self.bands):
            if not 0.0 <= band.share <= 1.0:
                raise DeliveryError(f"lateDelivery.bands[{n}].share: expected 0 to 1")
            if not 0.0 <= band.min_minutes <= band.max_minutes:
                raise DeliveryError(
                    f"lateDelivery.bands[{n}]: expected 0 <= minMinutes <= maxMinutes"
                )
        total = sum(band.share for band in self.bands)
        if abs(total - 1.0) > 1e-6:
            raise DeliveryError(f"lateDelivery.bands: the shares add up to {total:g}, not 1")

    @property
    def max_delay_ms(self) -> int:
        return int(max(band.max_minutes for band in self.bands) * MINUTE_MS)

    def delays_ms(self, count: int) -> array[int]:
        """One delay per event row, the same for the same ``count`` and seed."""
        rng = random.Random(self.seed)
        edges: list[float] = []
        running = 0.0
        for band in self.bands:
            running += band.share
            edges.append(running)
        last = len(self.bands) - 1
        delays: array[int] = array("q")
        for _ in range(count):
            band = self.bands[min(bisect_right(edges, rng.random()), last)]
            spread = band.max_minutes - band.min_minutes
            delays.append(int((band.min_minutes + rng.random() * spread) * MINUTE_MS))
        return delays

    def to_json(self) -> dict[str, Any]:
        return {"bands": [band.to_json() for band in self.bands], "seed": self.seed}

    @classmethod
    def from_json(cls, value: object) -> LateDelivery:
        """The scenario file's ``lateDelivery`` object (``bands`` and ``seed`` both optional)."""
        if value is True:
            return cls()
        if not isinstance(value, Mapping):
            raise DeliveryError("lateDelivery: expected an object with bands and/or seed")
        unknown = set(value) - {"bands", "seed"}
        if unknown:
            raise DeliveryError(f"lateDelivery: unknown key {sorted(unknown)[0]!r}")
        seed = value.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise DeliveryError("lateDelivery.seed: expected an integer")
        raw = value.get("bands")
        if raw is None:
            return cls(seed=seed)
        if not isinstance(raw, list):
            raise DeliveryError("lateDelivery.bands: expected a list")
        bands = []
        previous = 0.0
        for n, item in enumerate(raw):
            if not isinstance(item, Mapping) or not {"share", "maxMinutes"} <= set(item):
                raise DeliveryError(f"lateDelivery.bands[{n}]: expected share and maxMinutes")
            numbers = [item["share"], item["maxMinutes"], item.get("minMinutes", previous)]
            if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in numbers):
                raise DeliveryError(f"lateDelivery.bands[{n}]: expected numbers")
            share, high, low = (float(x) for x in numbers)
            bands.append(DelayBand(share, low, high))
            previous = high
        return cls(tuple(bands), seed)


class DeliveryView:
    """The events of a finished :class:`EventStore` as the API shows them at an instant."""

    def __init__(self, timestamps: Sequence[int], late: LateDelivery) -> None:
        delays = late.delays_ms(len(timestamps))
        self.timestamps = timestamps
        self.visible_at: array[int] = array("q", map(int.__add__, timestamps, delays))
        self.max_delay_ms = late.max_delay_ms
        self._cache: tuple[tuple[object, ...], list[int]] | None = None

    def delay_ms(self, row: int) -> int:
        return self.visible_at[row] - self.timestamps[row]

    def visible(self, query: tuple[object, ...], rows: Sequence[int], now_ms: int) -> Sequence[int]:
        """The rows of ``rows`` (oldest first) that have been delivered by ``now_ms``.

        Rows older than the longest delay are all delivered, so only the recent tail is
        checked one by one; the last answer is kept under ``query`` (what selected ``rows``),
        as a run asks for the same window page after page.
        """
        if not rows:
            return rows
        key = (*query, now_ms)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        settled = now_ms - self.max_delay_ms
        stamp = self.timestamps
        cut = bisect_right(rows, settled, key=stamp.__getitem__)
        seen = self.visible_at
        answer = list(rows[:cut])
        answer.extend(row for row in rows[cut:] if seen[row] <= now_ms)
        self._cache = (key, answer)
        return answer
