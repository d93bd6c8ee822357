"""Charts for the dashboard's pages: pygal's SVG, made to live under a strict CSP.

pygal draws well but ships each chart with an inline ``<style>``, an inline ``<script>`` (its
tooltips, which also load a file from the internet) and one ``style`` attribute, all of
which the daemon's Content-Security-Policy refuses. So each chart is drawn without them, and
the rules pygal would have inlined are produced once, scoped to ``.pygal-chart``, and served in
the dashboard's own stylesheet (:func:`chart_css`). Colours are CSS variables, so one drawing
serves the light and the dark theme.

Text (member names, model names) reaches the SVG through ElementTree, which escapes it.
"""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ET
from functools import cache, lru_cache
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from tracker_core.formatting import count_axis, money_axis, money_short

# pygal appends a finder for its map plugins (pygal.maps.*, unused here) to sys.meta_path. It
# predates find_spec, so every later import that reaches it raises an ImportWarning, in any
# module of the process: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

SERIES_COLOURS = 8
"""Series colours the stylesheet defines (``--c0`` .. ``--c7``); more series repeat them."""

_DROPPED = ("style", "script")
"""pygal builds plain (unprefixed) tags with an ``xmlns`` attribute on the root."""


def _style() -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="var(--muted)",
        foreground_strong="var(--fg)",
        foreground_subtle="var(--grid)",
        colors=tuple(f"var(--c{index})" for index in range(SERIES_COLOURS)),
        font_family="inherit",
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=14,
        value_font_size=12,
        title_font_size=15,
        opacity=".85",
        opacity_hover=".95",
        transition="none",
    )


def _config(**options: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "style": _style(),
        "js": [],
        "css": [],
        "disable_xml_declaration": True,
        # A narrow drawing with big type: scaled down to a phone's 360 px its labels stay
        # readable, scaled up on a desktop they are a little large rather than tiny.
        "width": 480,
        "height": 260,
        "margin": 8,
        "show_legend": False,
        "print_values": False,
        "truncate_label": 18,
        "explicit_size": False,
    }
    base.update(options)
    return base


def _clean(chart: Any, label: str) -> Markup:
    """The chart's SVG without anything a strict CSP blocks, labelled for screen readers.

    Safe to insert unescaped: ElementTree serialised every text and attribute it holds.
    """
    root: ET.Element = chart.render_tree()
    root.attrib.pop("id", None)
    for parent in list(root.iter()):
        for child in list(parent):
            # Comments (pygal's credits) are bytes on every page view; the rest CSP blocks.
            if child.tag in _DROPPED or child.tag is ET.Comment:  # type: ignore[comparison-overlap]
                parent.remove(child)
            elif child.tag == "title":
                child.text = label
        parent.attrib.pop("style", None)
    root.set("role", "img")
    root.set("aria-label", label)
    root.set("focusable", "false")
    return Markup(ET.tostring(root, encoding="unicode"))


# Each chart is a pure function of its arguments (tuples, so they can be remembered): the
# figures change once an hour, the pages are viewed (and refreshed each minute) far more
# often, and pygal takes a few milliseconds per chart. A few windows x groups x pages fit.
@lru_cache(maxsize=128)
def bar_chart(
    label: str,
    x_labels: tuple[str, ...],
    values: tuple[float, ...],
    *,
    money: bool = False,
    label_every: int = 1,
) -> Markup:
    """Vertical bars of one series (a daily figure over a window)."""
    chart = pygal.Bar(
        **_config(
            x_labels_major_every=label_every,
            show_minor_x_labels=label_every == 1,
            value_formatter=_money if money else _count,
        )
    )
    chart.x_labels = list(x_labels)
    chart.y_labels = axis(max(values, default=0), money=money)
    chart.add(label, list(values))
    return _clean(chart, label)


@lru_cache(maxsize=128)
def horizontal_bars(
    label: str, names: tuple[str, ...], values: tuple[float, ...], *, money: bool = True
) -> Markup:
    """One bar per name, largest on top (top spenders, spend by model)."""
    height = max(120, 30 * len(names) + 40)
    chart = pygal.HorizontalBar(
        **_config(
            height=height,
            width=420,
            # Room for the last tick label, centred on the end of the value axis.
            margin_right=28,
            value_formatter=_money if money else _count,
            truncate_label=16,
        )
    )
    ticks = axis(max(values, default=0), money=money, most=3)
    if money:
        # The names take most of the width: short amounts ("$1.5k") keep the ticks apart.
        ticks = [{**tick, "label": money_short(tick["value"] * 100)} for tick in ticks]
    chart.y_labels = ticks
    # pygal draws the first label at the bottom: reverse so the largest is on top.
    chart.x_labels = list(reversed(names))
    chart.add(label, list(reversed(values)))
    return _clean(chart, label)


@lru_cache(maxsize=128)
def line_chart(
    label: str,
    x_labels: tuple[str, ...],
    series: tuple[tuple[str, tuple[float, ...]], ...],
    *,
    stacked: bool = False,
    label_every: int = 1,
) -> Markup:
    """One line per series over days (DAU, messages per model)."""
    kind = pygal.StackedLine if stacked else pygal.Line
    chart = kind(
        **_config(
            show_legend=len(series) > 1,
            legend_at_bottom=True,
            legend_at_bottom_columns=2,
            height=260 + 24 * ((len(series) + 1) // 2) if len(series) > 1 else 260,
            fill=stacked,
            show_dots=not stacked and len(x_labels) <= 31,
            dots_size=2.5,
            x_labels_major_every=label_every,
            show_minor_x_labels=label_every == 1,
            value_formatter=_count,
        )
    )
    chart.x_labels = list(x_labels)
    if stacked:
        top = max(
            (sum(day) for day in zip(*(values for _, values in series), strict=True)), default=0
        )
    else:
        top = max((max(values, default=0) for _, values in series), default=0)
    chart.y_labels = axis(top, money=False)
    for name, values in series:
        chart.add(name, list(values))
    return _clean(chart, label)


def round_ticks(top: float, most: int = 4) -> tuple[float, ...]:
    """0 and up to ``most`` evenly spaced round values (1, 2 or 5 x 10^n apart) covering
    ``top``: axis labels a person reads at a glance, and that never crowd a phone screen."""
    if top <= 0:
        return (0.0, 1.0)
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return tuple(round(step * n, 10) for n in range(math.ceil(top / step - 1e-9) + 1))


def axis(top: float, *, money: bool, most: int = 4) -> list[dict[str, Any]]:
    """The value axis up to ``top``: round ticks, written as every face writes an axis
    (:mod:`tracker_core.formatting`). Money is plotted in dollars."""
    ticks = round_ticks(top, most)
    words = money_axis([tick * 100 for tick in ticks]) if money else count_axis(ticks)
    return [{"label": text, "value": tick} for tick, text in zip(ticks, words, strict=True)]


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def _count(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


@cache
def chart_css() -> str:
    """pygal's own chart rules, scoped to ``.pygal-chart`` instead of one chart's id.

    Produced from the installed pygal (a chart with every series colour, styled as above), so
    the stylesheet follows pygal's markup when pygal changes.
    """
    chart = pygal.Line(
        **{**_config(), "no_prefix": False, "css": ["file://style.css", "file://graph.css"]}
    )
    for index in range(SERIES_COLOURS):
        chart.add(str(index), [index])
    root: ET.Element = chart.render_tree()
    chart_id = root.attrib["id"]
    style = root.find("defs/style")
    css = style.text if style is not None and style.text else ""
    css = css.replace(f"#{chart_id}", ".pygal-chart")
    # pygal draws guide lines black whatever the style says: follow the theme instead.
    css += (
        "\n.pygal-chart .axis .guide.line,.pygal-chart .axis .major.guide.line"
        "{stroke:var(--grid)}"
        "\n.pygal-chart .tooltip{display:none}"
        # Major and minor labels alike: pygal's alternation reads as random bold names.
        "\n.pygal-chart .axis text,.pygal-chart .axis text.major{fill:var(--fg)}"
    )
    return re.sub(r"\n+", "\n", css).strip() + "\n"
