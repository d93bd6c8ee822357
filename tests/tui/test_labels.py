"""Shortened labels: they fit, and labels that differ still differ on screen."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tracker_tui.format import MIN_LABEL_WIDTH, _head, shorten_labels


def test_labels_that_fit_are_left_whole() -> None:
    assert shorten_labels(["gpt-5", "auto"], 10) == ["gpt-5", "auto"]


def test_a_unique_label_is_cut_at_its_end() -> None:
    assert shorten_labels(["Chloe Schmidt", "Leila Kim"], 11) == ["Chloe Schm…", "Leila Kim"]


def test_labels_sharing_a_start_are_cut_in_the_middle() -> None:
    shown = shorten_labels(["claude-4.5-sonnet-thinking", "claude-4.5-sonnet", "gpt-5"], 12)
    assert shown == ["claude…nking", "claude…onnet", "gpt-5"]


def test_two_people_with_one_first_name_stay_apart() -> None:
    shown = shorten_labels(["Bianca Ferreira", "Bianca Fernandes"], 11)
    assert len(set(shown)) == 2
    assert all(label.startswith("Bianc") and cell_len(label) <= 11 for label in shown)


def test_labels_that_differ_only_in_the_middle_get_numbers() -> None:
    shown = shorten_labels(["abcdefXghijkl", "abcdefYghijkl"], 8)
    assert shown[0] != shown[1]
    assert all(cell_len(label) <= 8 for label in shown)


def test_a_shortened_label_never_takes_the_look_of_a_whole_one() -> None:
    shown = shorten_labels(["Chloe Schm…", "Chloe Schmidt"], 11)
    assert shown[0] == "Chloe Schm…"
    assert shown[1] != shown[0]


labels = st.lists(st.text(min_size=0, max_size=40), max_size=30, unique=True)


@given(labels, st.integers(min_value=MIN_LABEL_WIDTH, max_value=50))
def test_distinct_labels_stay_distinct_and_fit(given_labels: list[str], width: int) -> None:
    shown = shorten_labels(given_labels, width)
    assert len(set(shown)) == len(given_labels)
    for label, form in zip(given_labels, shown, strict=True):
        assert cell_len(form) <= width
        assert (form == label) == (cell_len(label) <= width)


@given(
    st.lists(
        st.text(alphabet="ab…", min_size=MIN_LABEL_WIDTH, max_size=14), max_size=40, unique=True
    ),
    st.integers(min_value=MIN_LABEL_WIDTH, max_value=9),
)
def test_near_identical_labels_stay_distinct(given_labels: list[str], width: int) -> None:
    shown = shorten_labels(given_labels, width)
    assert len(set(shown)) == len(given_labels)
    assert all(cell_len(form) <= width for form in shown)


def test_a_cut_never_reads_as_another_whole_label() -> None:
    shown = shorten_labels(["claude-4.5-sonnet-thinking", "claude-4.5-sonnet"], 17)
    assert shown == ["claude-4…thinking", "claude-4.5-sonnet"]


@given(st.text(max_size=30), st.integers(min_value=0, max_value=40))
def test_a_head_is_the_longest_start_that_fits_its_cells(text: str, cells: int) -> None:
    head = _head(text, cells)
    assert text.startswith(head) and cell_len(head) <= cells
    # One more character would not fit (or there is none left).
    assert head == text or cell_len(text[: len(head) + 1]) > cells
