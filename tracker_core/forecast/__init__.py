"""The cycle-end forecast: pure functions over daily spend histories (no database, no clock).

``forecast_cycle(histories, cycle_start, cycle_end, now, groups=...)`` gives a
:class:`CycleForecast` whose ``team``, ``groups[name]`` and ``members[email]`` are each a
:class:`Forecast` (``spent``, ``expected``, ``low``, ``high`` in dollars, and the cumulative
``path`` over the cycle's days); ``crossing_day(forecast, budget)`` is the day a budget in
dollars is (or was) reached, None when not within the cycle.
"""

from tracker_core.forecast.model import CycleForecast, Forecast, crossing_day
from tracker_core.forecast.project import forecast_cycle

__all__ = ["CycleForecast", "Forecast", "crossing_day", "forecast_cycle"]
