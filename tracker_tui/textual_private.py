"""Every place the console leans on a private part of Textual or textual-plotext, and why.

Textual is held to one minor release (pyproject.toml) because of this module: when a new one
is taken, these are the lines to re-check. Each function touches one private name; the classes
that override a private method (listed here too) delegate to them.

- ``DataScreen.__init__`` -> :func:`adopt_current_styles` (``App._css_update_count``,
  ``App.stylesheet``): a mode's first screen would make Textual restyle the whole app.
- ``DataScreen._refresh_layout`` (override) -> :func:`drop_covered_layout_request`
  (``Screen._layout_required``, ``Screen._layout_widgets``): a stale "layout required" flag
  caused a late, redundant layout at start.
- ``VimDataTable._scroll_cursor_into_view`` (override): DataTable's hook for "the cursor
  moved"; the override calls it, then makes the scrolling pane follow.
- ``LineChart.render`` -> :func:`plotext_theme`, :func:`size_figure` (textual-plotext's
  ``_get_plotext_theme_name``, plotext's ``_set_size``): the figure is drawn in the height its
  legend leaves, which textual-plotext's own ``render`` cannot do.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.types import NoActiveAppError
from textual_plotext import PlotextPlot


def adopt_current_styles(screen: Screen[Any]) -> None:
    """Spare the app a full restyle when ``screen``'s mode opens.

    A mode's first screen makes Textual re-parse every stylesheet and restyle every widget
    (``App._init_mode``, ``App.switch_mode``), in case the theme changed while the screen
    waited: some 15 ms of the console's start (bench/tui_start.py), and as much at the first
    visit of each screen. A screen built now has not waited, and its widgets take their styles
    from the current stylesheet as they mount. What the full pass also did, and must still be
    done for the first screen, is to style the app itself before those widgets inherit from
    it: at start, Textual would otherwise get to the app only after its first screen. A theme
    change later counts the app's number up past this screen's, and Textual restyles the
    screen as before.
    """
    try:
        app = screen.app
    except NoActiveAppError:  # built outside a running app (a test constructing it)
        return
    if not app.screen_stack:  # the app's first screen
        app.stylesheet.update(app, animate=False)
    screen._css_update_count = app._css_update_count


def drop_covered_layout_request(screen: Screen[Any], *, scroll: bool) -> None:
    """Count a layout asked for before a full reflow as done by that reflow.

    Textual keeps a screen's "layout required" flag until its next frame, even when a full
    layout ran in between (a resize, a mount finishing). At start the flag set while the
    widgets mount outlives three such layouts, and the frame it finally causes lays the screen
    out again, which redraws the tables' scrollbars one frame later still: some 20 ms more
    before the first screen settles, for nothing. A full reflow covers whatever was asked
    before it, so the flag is cleared as it begins; a widget asking during the pass sets it
    again. (A scroll-only pass is not a full reflow and leaves the flag alone.)
    """
    if not scroll or screen._layout_widgets:
        screen._layout_required = False


def plotext_theme(plot: PlotextPlot, theme: str) -> str:
    """The plotext theme textual-plotext pairs with the app's Textual theme ``theme``."""
    name: str = plot._get_plotext_theme_name(theme)
    return name


def size_figure(plt: Any, width: int, height: int) -> None:
    """Give the figure ``width`` x ``height`` cells, as textual-plotext's ``render`` does for
    the whole widget (``plotsize`` alone is not read back by ``build``)."""
    plt.plotsize(width, height)
    plt._set_size(width, height)
