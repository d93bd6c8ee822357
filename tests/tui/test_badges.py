"""The console's badges: a column and a filter key on the members screen, the adoption card in
the drilldown, and each badge's rule in help (the rules are heuristics, and say so)."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import OptionList

from tests.tui.helpers import help_text, open_members, settle
from tracker_core.badges import BADGES, BY_ID, SHORT
from tracker_tui.app import TrackerApp
from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.member import MemberScreen
from tracker_tui.widgets.keybar import KeyBar
from tracker_tui.widgets.picker import PickerScreen

AppFactory = Callable[[], TrackerApp]
SIZE = (160, 40)


async def test_f_filters_the_members_table_by_a_badge(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        everyone = table.shown_rows()
        assert "Badge" in str(app.screen.query_one(KeyBar).render())
        worn = {ident for row in everyone for ident in row.badges if SHORT[ident]}
        # The badge worn by the fewest (but some) members: a filter that visibly narrows.
        rarest = min(worn, key=lambda ident: sum(ident in row.badges for row in everyone))
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        position = 1 + [badge.id for badge in BADGES].index(rarest)  # after "All"
        choices = app.screen.query_one(OptionList)
        await pilot.press(*["down"] * (position - choices.highlighted))
        await pilot.press("enter")
        await settle(pilot)

        kept = table.shown_rows()
        assert kept and all(rarest in row.badges for row in kept)
        assert len(kept) < len(everyone)
        assert table.row_count == len(kept)
        assert BY_ID[rarest].label in str(table.border_title)
        column = [
            str(table.get_cell_at((n, table.get_column_index("Badges"))))
            for n in range(table.row_count)
        ]
        assert all(SHORT[rarest] in cell for cell in column)


async def test_the_drilldown_shows_the_adoption_card_and_help_the_rules(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        scored = next(row for row in table.shown_rows() if row.adoption is not None)
        await pilot.press(*["down"] * table.shown_rows().index(scored), "enter")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen) and app.screen.email == scored.email
        card = app.screen.query_one("#adoption")
        cells = [
            [str(cell) for cell in card.get_row_at(n)]  # type: ignore[attr-defined]
            for n in range(card.row_count)  # type: ignore[attr-defined]
        ]
        assert scored.adoption is not None
        assert cells[0] == ["Score", f"{scored.adoption.score:.1f} · {scored.adoption.tier}"]
        assert [what for what, _ in cells[1:4]] == [
            "Accepted diffs",
            "Requests / active day",
            "Active days",
        ]
        assert cells[-1][0] == "Badges"

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(help_text(app.screen).split())
        for badge in BADGES:
            assert badge.label in text
        assert "At least 80 agent requests per active day" in text
        assert "heuristics" in text
