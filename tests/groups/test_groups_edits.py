"""Local group edits against the simulator, on SQLite and PostgreSQL: collections keep them.

The organisation is the simulator's (collected through the real collector); the edits go
through the tracker's seam as every face's do.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from tests.integration.helpers import CopyOfTemplate
from tracker_core.collector import SilentProgress
from tracker_core.groups import GroupInputError
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import Tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.simulator.scenario import Scenario
from tracker_core.storage import open_database
from tracker_core.views.groups import BillingGroups

KEY = "test-admin-key-0123456789"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate_scenario(users=12, days=10, seed=5, now=NOW)


@pytest.fixture
def tracker(
    scenario: Scenario, db_url: str, copy_of_template: CopyOfTemplate
) -> Iterator[tuple[Tracker, Scenario]]:
    """A tracker on a database holding the organisation as collected, the simulator serving
    a copy of it (tests change what it serves, then collect again)."""

    def fill(url: str) -> None:
        with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
            settings = simulator_settings(api, KEY, url, backfill_days=3, events_window_days=3)
            engine = open_database(url)
            try:
                collect(Tracker(settings, engine))
            finally:
                engine.dispose()

    copy_of_template("groups-12x10-seed5", fill)
    served = copy.copy(scenario)
    with running_simulator(served, api_key=KEY, rate_limits=False) as api:
        settings = simulator_settings(api, KEY, db_url, backfill_days=3, events_window_days=3)
        engine = open_database(db_url)
        tracker = Tracker(settings, engine)
        try:
            yield tracker, served
        finally:
            engine.dispose()


def collect(tracker: Tracker) -> None:
    summary = asyncio.run(tracker.collect(SilentProgress()))
    assert summary.ok, [result.error for result in summary.failed]


def placed(groups: BillingGroups) -> dict[str, str]:
    """Email -> the name of the group that lists them."""
    return {email: roster.group.name for roster in groups.groups for email in roster.emails}


def cursor_groups(tracker: Tracker) -> list[Any]:
    return [
        r for r in tracker.groups().groups if r.source == "cursor" and r.group.name != "Unassigned"
    ]


def test_local_edits_survive_the_next_collection(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    first, second = cursor_groups(tr)[:2]
    mover = first.emails[0]

    tr.rename_group(first.group.id, "Org > Renamed", actor="ana")
    new_id, _ = tr.create_group("Org>  Tools ", actor="ana")
    tr.assign_members([mover.upper()], "Org > Tools", actor="ana")
    tr.assign_members([second.emails[0]], first.group.id, actor="ben")
    edited = tr.groups()

    collect(tr)
    after = tr.groups()

    assert after.to_json() == edited.to_json()
    names = {roster.group.id: roster.group.name for roster in after.groups}
    assert names[first.group.id] == "Org > Renamed"
    assert names[new_id] == "Org > Tools"
    assert placed(after)[mover] == "Org > Tools"
    assert placed(after)[second.emails[0]] == "Org > Renamed"
    # Each member is listed once: the local assignment replaced Cursor's place.
    everyone = [email for roster in after.groups for email in roster.emails]
    assert len(everyone) == len(set(everyone))
    history = tr.group_history()
    assert [(e.kind, e.actor) for e in history] == [
        ("rename", "ana"),
        ("create", "ana"),
        ("assign", "ana"),
        ("assign", "ben"),
    ]


def test_undo_restores_each_previous_state(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    group = cursor_groups(tr)[0]
    states = [tr.groups().to_json()]
    tr.rename_group(group.group.id, "Renamed", actor="a")
    states.append(tr.groups().to_json())
    tr.create_group("Fresh", actor="a")
    states.append(tr.groups().to_json())
    tr.assign_members(group.emails[:2], "Fresh", actor="a")
    states.append(tr.groups().to_json())
    tr.assign_members(group.emails[:1], "unassigned", actor="a")
    states.append(tr.groups().to_json())

    for expected in reversed(states[:-1]):
        tr.undo_group_edit(actor="a")
        assert tr.groups().to_json() == expected
    with pytest.raises(GroupInputError, match="nothing to undo"):
        tr.undo_group_edit(actor="a")
    assert all(edit.undone for edit in tr.group_history())


def test_an_assigned_member_cursor_drops_is_kept_and_flagged(
    tracker: tuple[Tracker, Scenario],
) -> None:
    tr, served = tracker
    group = cursor_groups(tr)[0]
    email = group.emails[0]
    _, _ = tr.create_group("Keepers", actor="a")
    tr.assign_members([email], "Keepers", actor="a")

    report = copy.deepcopy(served.groups_report(date(NOW.year, NOW.month, 1)))
    for listed in [*report["groups"], report["unassignedGroup"]]:
        listed["currentMembers"] = [m for m in listed["currentMembers"] if m["email"] != email]
        listed["memberCount"] = len(listed["currentMembers"])
    served.groups = report
    collect(tr)

    keepers = tr.groups().find("Keepers")
    assert keepers is not None
    assert [(m.email, m.assigned_here, m.not_in_cursor) for m in keepers.members] == [
        (email, True, True)
    ]
    others = [m for r in tr.groups().groups if r.group.name != "Keepers" for m in r.members]
    assert not any(m.not_in_cursor for m in others)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda tr, g: tr.rename_group("no-such", "X", actor="a"), "no billing group 'no-such'"),
        (lambda tr, g: tr.rename_group(g.group.id, " > ", actor="a"), "empty"),
        (lambda tr, g: tr.rename_group(g.group.id, "unassigned", actor="a"), "reserved"),
        (lambda tr, g: tr.create_group(g.group.name, actor="a"), "already named"),
        (lambda tr, g: tr.delete_group(g.group.id, actor="a"), "one of Cursor's groups"),
        (lambda tr, g: tr.assign_members(["nobody@x.test"], g.group.id, actor="a"), "no member"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    tracker: tuple[Tracker, Scenario], action: Any, message: str
) -> None:
    tr, _ = tracker
    group = cursor_groups(tr)[0]
    before = tr.groups().to_json()
    with pytest.raises(GroupInputError, match=message):
        action(tr, group)
    assert tr.groups().to_json() == before
    assert tr.group_history() == []


def test_a_created_group_is_deleted_only_when_empty(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    email = cursor_groups(tr)[0].emails[0]
    tr.create_group("Temp", actor="a")
    tr.assign_members([email], "Temp", actor="a")
    with pytest.raises(GroupInputError, match="has 1 member"):
        tr.delete_group("Temp", actor="a")
    tr.undo_group_edit(actor="a")
    tr.delete_group("Temp", actor="a")
    assert tr.groups().find("Temp") is None


def test_group_filters_add_up_to_the_team_after_edits(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    first, second = cursor_groups(tr)[:2]
    tr.create_group("Ops > Night", actor="a")
    tr.assign_members(first.emails[:1], "Ops > Night", actor="a")
    tr.assign_members(second.emails[:1], "unassigned", actor="a")
    team = tr.stats(days=3).total_spend_cents
    groups = [r for r in tr.groups().groups if r.group.name != "Unassigned"]

    def spend(spec: str) -> float:
        return tr.stats(days=3, group_id=tr.group_filter(spec)).total_spend_cents

    by_group = sum(spend(r.group.id) for r in groups)
    assert by_group + spend("unassigned") == pytest.approx(team)
    parents = {r.group.name.split(" > ")[0] for r in groups}
    assert sum(spend(f"parent:{p}") for p in parents) + spend("unassigned") == pytest.approx(team)
    # A parent takes exactly its teams; the moved member's spend followed them.
    night = [r for r in groups if r.group.name.startswith("Ops")]
    assert spend("parent:Ops") == pytest.approx(sum(spend(r.group.id) for r in night))
    stats = tr.stats(days=3, group_id=tr.group_filter("Ops > Night"))
    assert {u.email for u in stats.users} <= set(first.emails[:1])
    unassigned = tr.stats(days=3, group_id="unassigned")
    assert second.emails[0] in {u.email for u in unassigned.users}
    with pytest.raises(GroupInputError, match="no billing group under 'Nowhere'"):
        tr.group_filter("parent:Nowhere")


def roster_csv(tr: Tracker) -> tuple[bytes, list[str]]:
    """A People Directory CSV placing the first seven members on the team in two Guild teams
    (four and three: both at least the minimum team size, so neither is merged away).

    Chosen among everyone on the team, whatever group Cursor has them in: how many sit in
    named groups varies with the day the organisation is generated for."""
    emails = sorted(row.email for row in tr.overview(days=3).members if not row.is_removed)
    assert len(emails) >= 7
    lines = ["Display name;Work Email;Department;Team"]
    for n, email in enumerate(emails[:7]):
        lines.append(f'"Doe, N{n}";{email.upper()};Guild;{"Core" if n < 4 else "Tools"}')
    lines.append("Nobody;nobody@elsewhere.test;Guild;Core")
    return ("\r\n".join(lines) + "\r\n").encode(), emails[:7]


def test_a_hibob_import_previews_applies_survives_collection_and_undoes_as_one_step(
    tracker: tuple[Tracker, Scenario],
) -> None:
    tr, _ = tracker
    data, emails = roster_csv(tr)
    before = tr.groups().to_json()

    preview = tr.import_hibob(data, actor="hr")
    assert tr.groups().to_json() == before and tr.group_history() == []
    body = preview.to_json()
    assert sorted(body["new_groups"]) == ["Guild > Core", "Guild > Tools"]
    assert {m["email"] for m in body["moves"]} == set(emails)
    assert body["unknown_rows"] == [{"line": 9, "email": "nobody@elsewhere.test", "name": "Nobody"}]
    assert "applied" not in body

    applied = tr.import_hibob(data, apply=True, actor="hr")
    assert applied.applied == 7
    collect(tr)
    after = placed(tr.groups())
    assert [after[e] for e in emails] == ["Guild > Core"] * 4 + ["Guild > Tools"] * 3
    assert {e.batch for e in tr.group_history()} == {1}  # one step: 2 creations, 7 moves

    tr.undo_group_edit(actor="hr")
    assert tr.groups().to_json() == before


def test_an_import_of_only_some_members_moves_only_them(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    data, emails = roster_csv(tr)
    result = tr.import_hibob(data, apply=True, only=[emails[5]], actor="hr")
    assert result.applied == 1
    assert placed(tr.groups())[emails[5]] == "Guild > Tools"
    assert tr.groups().find("Guild > Core") is None  # no selected move needed it
    with pytest.raises(GroupInputError, match=r"not among the import's moves: x@y\.test"):
        tr.import_hibob(data, apply=True, only=["x@y.test"], actor="hr")


def test_a_failed_apply_changes_nothing(tracker: tuple[Tracker, Scenario]) -> None:
    tr, _ = tracker
    data, emails = roster_csv(tr)
    before = tr.groups().to_json()
    # The database refuses the last member's assignment, after the groups were created and
    # the others placed in the same transaction.
    with tr.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON group_assignments "
                f"WHEN NEW.email = '{emails[6]}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.email = '{emails[6]}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON group_assignments "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    with pytest.raises(DBAPIError, match="refused"):
        tr.import_hibob(data, apply=True, actor="hr")
    assert tr.groups().to_json() == before
    assert tr.group_history() == []


def test_a_backup_restores_the_mapping_it_was_taken_from(
    tracker: tuple[Tracker, Scenario],
) -> None:
    tr, _ = tracker
    first, second = cursor_groups(tr)[:2]
    tr.create_group("Keep > Me", actor="a")
    tr.assign_members(first.emails[:1], "Keep > Me", actor="a")
    backup = tr.export_groups()
    saved = placed(tr.groups())

    tr.assign_members(first.emails[:1] + second.emails[:1], "unassigned", actor="a")
    tr.undo_group_edit(actor="a")  # the assignment above, then the creation: both undone
    tr.undo_group_edit(actor="a")
    tr.undo_group_edit(actor="a")
    assert tr.groups().find("Keep > Me") is None

    preview = tr.restore_groups(backup.encode(), actor="a").to_json()
    assert preview["new_groups"] == ["Keep > Me"]
    assert [c["email"] for c in preview["changes"]] == first.emails[:1]
    assert "applied" not in preview and tr.groups().find("Keep > Me") is None

    assert tr.restore_groups(backup.encode(), apply=True, actor="a").applied == 1
    assert placed(tr.groups()) == saved
    assert tr.restore_groups(backup.encode(), actor="a").changes == []
