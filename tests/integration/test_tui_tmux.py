"""`cursor-tracker demo` driven for real in a terminal: tmux send-keys and capture-pane.

This is what a manager does over SSH: start the demo, read the overview, open the incident
queue and acknowledge the worst incident from the keyboard; then the database says so.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tests.integration.helpers import KEY, write_config
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import tables as t

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    """One detached tmux session of a fixed size running one command."""

    def __init__(
        self,
        command: str,
        *,
        cwd: Path,
        size: tuple[int, int] = (120, 40),
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"tracker-{uuid.uuid4().hex[:8]}"
        width, height = size
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
             *(arg for name, value in (env or {}).items() for arg in ("-e", f"{name}={value}")),
             "-c", str(cwd), f"TERM=xterm-256color {command}; sleep 60"],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, found: Callable[[str], bool], what: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if found(screen):
                return screen
            time.sleep(0.25)
        raise AssertionError(f"never saw {what}; the screen was:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    command = shlex.join(
        [sys.executable, "-m", "tracker_core", "demo", "--users", "20", "--days", "30"]
    )
    session = Terminal(command, cwd=tmp_path)
    try:
        yield session
    finally:
        session.close()


def test_demo_opens_the_console_and_an_incident_is_acknowledged(
    terminal: Terminal, tmp_path: Path
) -> None:
    overview = terminal.wait_for(
        lambda s: "Overview" in s and "Top spenders" in s and "$" in s, "the overview"
    )
    assert "Daily team spend" in overview
    assert "Members" in overview

    terminal.press("4")
    queue = terminal.wait_for(lambda s: "Queue, active" in s and "Timeline" in s, "the queue")
    assert "critical" in queue  # worst first: the demo plants critical anomalies

    terminal.press("a")
    terminal.wait_for(lambda s: "acknowledged" in s, "the acknowledgement")

    engine = create_engine(f"sqlite:///{tmp_path / '.demo' / 'tracker.db'}")
    try:
        with engine.connect() as conn:
            acknowledged = conn.execute(
                select(t.incidents.c.id).where(t.incidents.c.status == "acknowledged")
            ).all()
    finally:
        engine.dispose()
    assert len(acknowledged) == 1

    terminal.press("q")
    terminal.wait_for(lambda s: "Reopen it: DATABASE_URL=" in s, "the console closing")


def test_q_while_a_collection_waits_on_the_rate_limit_quits_within_seconds(tmp_path: Path) -> None:
    """The real process, at 80x24: it used to sit on a blank screen for the rest of the wait.

    The client allows itself 3 requests a minute against the rate-limited simulator, so the
    collection soon waits most of a minute; the status line says so, and q ends the process
    (the shell's echo shows) within a few seconds.
    """
    scenario = generate_scenario(users=10, days=10, seed=3)
    with running_simulator(scenario, api_key=KEY, rate_limits=True) as url:
        config = write_config(
            tmp_path / "tracker.toml",
            api_url=url,
            db_url=f"sqlite:///{tmp_path / 'tracker.db'}",
            cursor_rate_limits=True,
        )
        # The client's own ceiling, far below Cursor's 20: the fourth request waits a minute.
        text = config.read_text().replace("[cursor]\n", "[cursor]\nadmin_requests_per_minute = 3\n")
        config.write_text(text)
        command = shlex.join([sys.executable, "-m", "tracker_core", "tui", "--config", str(config)])
        terminal = Terminal(
            f"{command}; echo CONSOLE-CLOSED",
            cwd=tmp_path,
            size=(80, 24),
            env={"CURSOR_ADMIN_API_KEY": KEY},
        )
        try:
            terminal.wait_for(lambda s: "Overview" in s, "the overview", timeout=30)
            terminal.press("c")
            waiting = terminal.wait_for(
                lambda s: "rate limit" in s, "the rate-limit wait in the status line", timeout=30
            )
            assert "waiting" in waiting.splitlines()[0]
            terminal.press("q")
            asked = time.monotonic()
            terminal.wait_for(lambda s: "CONSOLE-CLOSED" in s, "the console closing", timeout=60)
            assert time.monotonic() - asked < 3
        finally:
            terminal.close()
