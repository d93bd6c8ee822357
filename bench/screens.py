"""Screenshots of every dashboard page, for a person to look at.

Collects a small seeded organisation from the simulator (one member named like an HTML
attack), serves the pages, and saves full-page PNGs of each page at 1280x800 and 390x844, in
the light and the dark scheme, with Debian's chromium driven by Playwright:

    python bench/screens.py OUTPUT_DIR [--database PATH]

``--database`` reuses (or creates) a collected database instead of a temporary one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Literal

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.dashboard.helpers import (
    CHROMIUM,
    build_organisation,
    pages_app,
    serving,
    settings_for,
)

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")


def first_href(page: Page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no link matches {selector}"
    return href


def shoot(base: str, out: Path) -> list[Path]:
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        probe = browser.new_page()
        probe.goto(base + "/")
        member = first_href(probe, "#members-table tbody th a")
        probe.goto(base + "/incidents")
        resolve = first_href(probe, "a.button.danger")
        probe.close()
        pages = {
            "overview": "/",
            "overview-7d": "/?days=7&sort=requests",
            "insights": "/insights",
            "member": member,
            "incidents": "/incidents",
            "resolve": resolve,
            "settings": "/settings",
        }
        for scheme in SCHEMES:
            for size_name, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page = context.new_page()
                for name, path in pages.items():
                    page.goto(base + path)
                    target = out / f"{name}-{size_name}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=True)
                    saved.append(target)
                # The settings form refusing a value, in place.
                page.goto(base + "/settings")
                page.fill("#zscore_multiplier", "0.5")
                page.click("form.settings button[type=submit]")
                target = out / f"settings-refused-{size_name}-{scheme}.png"
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
                context.close()
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="directory for the PNG files")
    parser.add_argument("--database", type=Path, help="a collected database to reuse or create")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        database = args.database or Path(workdir) / "tracker.db"
        if not database.exists():
            build_organisation(f"sqlite:///{database}")
        with serving(pages_app(settings_for(f"sqlite:///{database}"))) as base:
            saved = shoot(base, args.output)
    print(f"saved {len(saved)} screenshots in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
