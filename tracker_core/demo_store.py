"""The demo's database between runs: reused for the same organisation, replaced otherwise.

A generated organisation depends only on its members, days, seed and UTC day, so a second
demo run with the same four finds in the database exactly the organisation it would collect,
and someone's acknowledgements and settings there are still about the same people: the run
collects into it incrementally and keeps them. Any other organisation would mix two teams in
one database, so that database is replaced, and the demo says so before anything is removed.
A small JSON file beside the database remembers which organisation it holds.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from tracker_core.text import plural

MARKER = "organisation.json"


@dataclass(frozen=True)
class DemoOrganisation:
    users: int
    days: int
    seed: int
    day: date
    """The UTC day it was generated for (:func:`~tracker_core.simulator.org.organisation_time`)."""

    def describe(self) -> str:
        return (
            f"{plural(self.users, 'member')} over {plural(self.days, 'day')}, "
            f"seed {self.seed}, generated for {self.day.isoformat()}"
        )


def read_organisation(data_dir: Path) -> DemoOrganisation | None:
    """The organisation the database in ``data_dir`` holds; ``None`` when unknown."""
    try:
        raw = json.loads((data_dir / MARKER).read_text(encoding="utf-8"))
        return DemoOrganisation(
            users=int(raw["users"]),
            days=int(raw["days"]),
            seed=int(raw["seed"]),
            day=date.fromisoformat(str(raw["day"])),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_organisation(data_dir: Path, organisation: DemoOrganisation) -> None:
    fields = {**asdict(organisation), "day": organisation.day.isoformat()}
    (data_dir / MARKER).write_text(json.dumps(fields) + "\n", encoding="utf-8")


def prepare_database(data_dir: Path, organisation: DemoOrganisation) -> tuple[Path, str | None]:
    """The database to collect into, and what to tell the person about the previous one.

    The database is kept when it holds ``organisation`` and removed (with its SQLite side
    files) when it holds another one or one this version cannot tell.
    """
    database = data_dir / "tracker.db"
    if not database.exists():
        return database, None
    previous = read_organisation(data_dir)
    if previous == organisation:
        return database, (
            f"Reusing the demo database {database}: it holds this same organisation, so its "
            "acknowledgements, resolutions and settings are kept."
        )
    for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    held = previous.describe() if previous else "an organisation this version cannot identify"
    return database, (
        f"Replaced the demo database {database}: it held another organisation ({held}), so "
        "its acknowledgements, resolutions and settings are not kept."
    )


def reopen_command(database: Path, command: str = "tui", program: str = "cursor-tracker") -> str:
    """A shell command, ready to paste, that runs ``command`` on the demo database
    (``program``: how the shell finds the tracker, see ``cli.program.invoked_as``)."""
    url = f"sqlite:///{database.resolve()}"
    return f"DATABASE_URL={shlex.quote(url)} {program} {command}"
