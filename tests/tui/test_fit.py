"""What the console's tiles, bars, tables and charts show at 80x24: nothing cut out of sight."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.geometry import Size

from tests.tui.helpers import FIXED_NOW, open_members, settle
from tests.tui.test_picker import open_list, painted, pick, picker_line
from tracker_core.formatting import money_short
from tracker_tui.app import TrackerApp
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.widgets.charts import (
    LEGEND_ROWS,
    MOST_INTERVALS,
    LineChart,
    axis_ticks,
    legend,
    render_bars,
)
from tracker_tui.widgets.tables import COLUMNS, VimDataTable
from tracker_tui.widgets.tiles import Tile

AppFactory = Callable[[], TrackerApp]
SMALL = (80, 24)


def test_bars_with_alike_labels_keep_them_apart() -> None:
    bars = [
        ("claude-4.5-sonnet-thinking", 26_000.0),
        ("claude-4.5-sonnet", 18_000.0),
        ("Bianca Ferreira", 9_000.0),
        ("Bianca Fernandes", 8_000.0),
    ]
    lines = render_bars(bars, money_short, Size(24, 6), "blue").plain.splitlines()
    labels = [re.split(" +[█▏▎▍▌▋▊▉]", line)[0] for line in lines]
    assert len(set(labels)) == 4, labels
    assert all("…" in label for label in labels), labels  # narrow enough to need shortening
    assert all(line.rstrip().endswith(("$260", "$180", "$90", "$80")) for line in lines)


async def test_a_rank_past_nine_shows_whole_on_the_member_tile(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        for _ in range(11):  # the twelfth spender
            await pilot.press("j")
        assert table.selected_key() is not None
        await pilot.press("enter")
        await settle(pilot)
        spend = app.screen.query_one("#tile-spend", Tile)
        who = app.screen.query_one("#tile-who", Tile)
        note = spend.render().plain.splitlines()[1]
        assert note == "rank 12" or note.endswith("rank 12"), note
        # "Engineering > Mobile" does not fit: the team, which tells the parent's groups apart,
        # stays whole and the parent gives way.
        group = who.render().plain.splitlines()[1]
        assert group.endswith(" > Mobile") and "…" in group, group


async def test_the_members_table_at_80_columns_shows_what_fits_and_names_the_rest(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        shown = [COLUMNS[i].label for i in table.shown_columns]
        assert shown[:2] == ["Name", "Spend"] and "Incidents" in shown
        hidden = [column.label for column in COLUMNS if column.label not in shown]
        assert hidden, "80 columns cannot hold all nine"
        assert str(table.border_subtitle) == f"+{len(hidden)} columns: {', '.join(hidden)}"
        # Nothing to scroll sideways to: every column shown is on screen whole.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        visited = set()
        for _ in range(len(COLUMNS)):
            await pilot.press("s")
            visited.add(COLUMNS[table.sort_column].label)
        assert visited == set(shown)


async def test_a_refresh_keeps_the_highlighted_row_and_the_scroll(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        await pilot.press("s")  # sorted by a column other than the default
        sort = (table.sort_column, table.sort_reverse)
        for _ in range(18):
            await pilot.press("j")
        for _ in range(6):  # back up: the highlight mid-screen, the view still scrolled
            await pilot.press("k")
        await settle(pilot)
        selected, scrolled = table.selected_key(), table.scroll_y
        assert scrolled > 0
        loads = app.screen.loads
        await pilot.press("space")  # what the 30-second refresh does
        await settle(pilot)
        assert app.screen.loads == loads + 1
        assert table.selected_key() == selected
        assert table.scroll_y == scrolled
        assert (table.sort_column, table.sort_reverse) == sort


class WideTable(App[None]):
    def compose(self) -> ComposeResult:
        yield VimDataTable()

    def on_mount(self) -> None:
        table = self.query_one(VimDataTable)
        table.add_columns(*(f"column {n}" for n in range(12)))
        table.replace_rows(ROWS)


ROWS = [(f"row {r}", [f"cell {r}.{n}" for n in range(12)]) for r in range(40)]


async def test_refilling_a_table_keeps_a_sideways_scroll() -> None:
    app = WideTable()
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(VimDataTable)
        await pilot.pause()
        table.scroll_to(x=40, animate=False, immediate=True)
        for _ in range(5):
            await pilot.press("j")
        await pilot.pause()
        assert table.scroll_x == 40
        table.replace_rows(ROWS[::-1])  # new data, the highlighted row elsewhere
        await pilot.pause()
        await pilot.pause()
        assert table.scroll_x == 40
        assert table.selected_key() == "row 5"


# --- charts ------------------------------------------------------------------------------------


@given(
    st.floats(min_value=10, max_value=1e12, allow_nan=False),
    st.integers(min_value=3, max_value=MOST_INTERVALS),
)
def test_an_axis_fits_its_data_with_round_ticks(peak: float, most: int) -> None:
    ticks = axis_ticks(peak, most)
    step = ticks[1]
    assert ticks[0] == 0 and 2 <= len(ticks) <= most + 1
    assert all(math.isclose(b - a, step) for a, b in itertools.pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, nice) for nice in (1.0, 2.0, 2.5, 5.0))
    assert peak <= ticks[-1] < 1.5 * peak


def test_a_260_dollar_peak_gets_a_300_dollar_axis() -> None:
    assert axis_ticks(26_000) == [0, 10_000, 20_000, 30_000]


@given(
    st.lists(
        st.text(
            # No spaces or controls: the test splits the painted legend back into names.
            st.characters(exclude_characters="■", exclude_categories=("Zs", "Cc", "Zl", "Zp")),
            min_size=1,
            max_size=30,
        ),
        min_size=2,
        max_size=8,
        unique=True,
    ),
    st.integers(min_value=30, max_value=120),
)
# Two series, one named wider than the chart in wide characters: two lines "held" them, and
# the long name ran past the border.
@example(names=["0" * 25 + "⺀𠀀", "0"], width=30)
def test_a_legend_names_every_series_apart_within_its_lines(names: list[str], width: int) -> None:
    lines = [line.plain for line in legend(names, width)]
    assert 1 <= len(lines) <= LEGEND_ROWS
    assert all(cell_len(line) <= width for line in lines)
    entries = [entry for line in lines for entry in line.split("■ ")[1:]]
    shown = [entry.rstrip() for entry in entries]
    assert len(set(shown)) == len(shown)


def dollars(label: str) -> float:
    """``$1.2k`` or ``$400`` back to cents."""
    number = label.strip().lstrip("$")
    scale = 1000 if number.endswith("k") else 1
    return float(number.rstrip("k").replace(",", "")) * scale * 100


async def test_charts_at_80x24_fit_their_axes_and_keep_the_legend_off_the_data(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        daily = app.screen.query_one("#chart-daily", LineChart)
        lines = painted(daily).splitlines()
        top_label = next(line.split("┤")[0] for line in lines if "┤" in line)
        assert isinstance(app.screen, OverviewScreen) and app.screen.data is not None
        peak = max(point.spend_cents for point in app.screen.data.daily_spend)
        assert peak <= dollars(top_label) < 1.5 * peak, (top_label, peak)

        await pilot.press("2")
        await settle(pilot)
        adoption = app.screen.query_one("#chart-adoption", LineChart)
        lines = painted(adoption).splitlines()
        axis = next(i for i, line in enumerate(lines) if "└" in line)
        below = "\n".join(lines[axis + 2 :])  # under the day labels
        assert isinstance(app.screen, InsightsScreen) and app.screen.data is not None
        models = [series.model for series in app.screen.data.model_adoption]
        assert len(models) > 1
        assert all(f"■ {model}" in below for model in models[:3]), below
        assert not any(model in "\n".join(lines[:axis]) for model in models)


async def test_client_versions_name_the_full_day_they_count(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, InsightsScreen) and app.screen.data is not None
        yesterday = (FIXED_NOW - timedelta(days=1)).date()
        versions = app.screen.query_one("#versions", VimDataTable)
        assert versions.border_title == f"Client versions on {yesterday}"
        users = sum(int(str(versions.get_row_at(row)[1])) for row in range(versions.row_count))
        assert users == sum(version.users for version in app.screen.data.client_versions) > 6


async def test_the_group_filter_offers_unassigned_members(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        table = await open_members(pilot)
        everyone = table.row_count
        await pilot.press("b")
        _title, labels, _current = open_list(app)
        assert labels[-1].startswith("Unassigned (")
        await pick(pilot, labels[-1])
        loose = int(labels[-1].removeprefix("Unassigned (").rstrip(")"))
        assert 0 < loose < everyone
        assert table.row_count == loose
        assert all(row.group == "" for row in table.shown_rows())
        assert "Group: Unassigned" in picker_line(app, "#group")


@pytest.mark.parametrize("size", [SMALL, (120, 40)])
async def test_every_charts_value_axis_reads_in_order_with_room_between_ticks(
    make_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        for screen in ("1", "2"):
            await pilot.press(screen)
            await settle(pilot)
            charts = list(app.screen.query(LineChart))
            assert charts
            for chart in charts:
                lines = painted(chart).splitlines()
                rows = [i for i, line in enumerate(lines) if "┤" in line]
                labels = [lines[i].split("┤")[0].strip() for i in rows]
                values = [
                    dollars(label) if "$" in label else count_value(label) for label in labels
                ]
                # Top to bottom, every tick a distinct, smaller value: no label moved onto a
                # neighbour's row (a three-row plot once read 1,500 / 500 / 0).
                assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
                steps = {round(a - b, 6) for a, b in itertools.pairwise(values)}
                assert len(steps) == 1, (chart.border_title, labels)
                assert all(b - a >= 2 for a, b in itertools.pairwise(rows)), labels


def count_value(label: str) -> float:
    scale = {"k": 1e3, "M": 1e6, "B": 1e9}.get(label[-1:], 1)
    return float(label.rstrip("kMB").replace(",", "")) * scale
