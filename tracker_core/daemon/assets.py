"""The dashboard's stylesheet and script, served under a name holding their content's hash.

A browser may then keep each file for a year without asking again: a new version of the
file is a new name, which the pages link to as soon as the daemon runs the new code. Both
files are read from the package once, at start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import web

LONG_CACHE: Final = "public, max-age=31536000, immutable"
TYPES: Final = {".css": "text/css", ".js": "text/javascript"}


@dataclass(frozen=True)
class Asset:
    name: str
    """The served name: ``style.<hash>.css``."""
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Assets:
    css: Asset
    js: Asset

    @property
    def css_url(self) -> str:
        return f"/static/{self.css.name}"

    @property
    def js_url(self) -> str:
        return f"/static/{self.js.name}"

    def response(self, name: str) -> web.Response:
        for asset in (self.css, self.js):
            if asset.name == name:
                return web.Response(
                    body=asset.body,
                    content_type=asset.content_type,
                    charset="utf-8",
                    headers={"Cache-Control": LONG_CACHE},
                )
        raise web.HTTPNotFound()


def _asset(stem: str, suffix: str, body: bytes) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Asset(f"{stem}.{digest}{suffix}", body, TYPES[suffix])


def load_assets(*, extra_css: str = "") -> Assets:
    """The package's ``static/style.css`` (with ``extra_css`` after it) and ``app.js``."""
    static = resources.files("tracker_core.daemon") / "static"
    css = (static / "style.css").read_text(encoding="utf-8") + "\n" + extra_css
    js = (static / "app.js").read_text(encoding="utf-8")
    return Assets(
        css=_asset("style", ".css", css.encode()),
        js=_asset("app", ".js", js.encode()),
    )
