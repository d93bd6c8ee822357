"""The pure parts of the pages: the members table's search, sort and pages, the heat map."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from tracker_core.daemon.page_parts import (
    PAGE_SIZE,
    Kept,
    PageError,
    done_notice,
    heat_levels,
    member_table,
)
from tracker_core.views.overview import MemberRow


def row(n: int, *, name: str = "", spend: float = 0.0, requests: int = 0) -> MemberRow:
    return MemberRow(
        email=f"dev{n:04d}@example.test",
        name=name or f"Dev {n}",
        role="member",
        group="",
        is_removed=False,
        spend_cents=spend,
        requests=requests,
        tokens=0,
        top_model=None,
        last_active=date(2026, 11, 20),
        open_incidents=0,
    )


TEAM = [row(n, spend=1000.0 - n, requests=n) for n in range(250)]
"""By spend, as the overview lists them: dev0000 spent most, dev0249 made most requests."""


def test_the_table_keeps_the_spend_rank_whatever_the_order_shown() -> None:
    table = member_table(TEAM, search="", sort="requests", order="", page=1)
    rank, first = table.rows[0]
    assert first.email == "dev0249@example.test" and rank == 250
    assert table.pages == 3 and len(table.rows) == PAGE_SIZE


def test_search_is_case_blind_on_name_and_email() -> None:
    team = [*TEAM, row(999, name="Zoë Quist")]
    assert [
        r.email for _, r in member_table(team, search="zOË", sort="spend", order="", page=1).rows
    ] == ["dev0999@example.test"]
    assert member_table(team, search="DEV0007@", sort="spend", order="", page=1).matched == 1


def test_the_last_page_is_shown_for_a_page_past_the_end() -> None:
    table = member_table(TEAM, search="", sort="spend", order="asc", page=99)
    assert table.page == 3 and len(table.rows) == 50
    assert table.rows[-1][1].email == "dev0000@example.test"


@pytest.mark.parametrize(("sort", "order"), [("cost", ""), ("spend", "up")])
def test_an_unknown_sort_is_refused_by_name(sort: str, order: str) -> None:
    with pytest.raises(PageError, match=r"sort must be one of|order must be asc or desc"):
        member_table(TEAM, search="", sort=sort, order=order, page=1)


def test_heat_levels_put_the_busiest_hour_at_the_top_and_idle_hours_at_zero() -> None:
    activity = [[0, 1, 2, 3, 4, 5, 6, 7, 8] + [0] * 15] + [[0] * 24 for _ in range(6)]
    levels = heat_levels(activity, 8)
    assert levels[0][:9] == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert heat_levels([[0] * 24] * 7, 0) == [[0] * 24] * 7


def test_only_the_dashboards_own_notices_are_shown_after_a_change() -> None:
    assert done_notice("acknowledged-12") == "Incident 12 acknowledged."
    assert done_notice("resolved-3") == "Incident 3 resolved."
    for crafted in ("hacked-by", "resolved-3 call 555", "resolved-", ""):
        assert done_notice(crafted) == ""


def test_a_kept_view_is_reused_only_while_its_fingerprint_holds() -> None:
    kept: Kept[int] = Kept(size=2)
    computed: list[str] = []

    def compute(value: int) -> Callable[[], int]:
        def run() -> int:
            computed.append(str(value))
            return value

        return run

    assert kept.get("a", "v1", compute(1)) == 1
    assert kept.get("a", "v1", compute(2)) == 1
    assert kept.get("a", "v2", compute(3)) == 3
    kept.get("b", "v2", compute(4))
    kept.get("c", "v2", compute(5))  # the oldest key ("a") goes
    assert kept.get("a", "v2", compute(6)) == 6
    assert computed == ["1", "3", "4", "5", "6"]
