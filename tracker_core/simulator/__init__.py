"""A simulated Cursor Enterprise API: the demo's default peer and the tests' counterpart.

``generate_scenario`` builds a seeded organisation with planted anomalies, ``load_scenario``
reads one written by hand in the API's own vocabulary, and ``make_simulator_app`` (or
``serve``, ``SimulatorThread``, ``running_simulator``) serves it over HTTP with Cursor's
endpoints, authentication, rate limits and error bodies.
"""

from __future__ import annotations

from tracker_core.simulator.org import generate_scenario
from tracker_core.simulator.scenario import (
    ANOMALY_KINDS,
    EventStore,
    Scenario,
    ScenarioError,
    dump_scenario,
    load_scenario,
    save_scenario,
    scenario_from_dict,
)
from tracker_core.simulator.server import (
    FAULT_KINDS,
    SimulatorOptions,
    SimulatorThread,
    make_simulator_app,
    running_simulator,
    serve,
)

__all__ = [
    "ANOMALY_KINDS",
    "FAULT_KINDS",
    "EventStore",
    "Scenario",
    "ScenarioError",
    "SimulatorOptions",
    "SimulatorThread",
    "dump_scenario",
    "generate_scenario",
    "load_scenario",
    "make_simulator_app",
    "running_simulator",
    "save_scenario",
    "scenario_from_dict",
    "serve",
]
