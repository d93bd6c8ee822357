"""Names, models and messages from outside never reach a terminal as commands: an escape
sequence, a bell, a carriage return or a right-to-left override in what Cursor sends is stored
and printed without its control characters, by every command that shows it. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from tests.integration.cursor_fake import Answers, collect, fake_cursor
from tests.integration.helpers import Run, run_cli, write_config
from tests.integration.test_implausible_values import event
from tracker_core.text import printable

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never be printed from data (newline and tab are the report's own layout)."""


def test_control_characters_from_the_api_never_reach_the_terminal(
    db_url: str, tmp_path: Path
) -> None:
    answers = Answers(
        members=[
            {
                "id": 1,
                "email": "eve@x.test",
                "name": "Eve\x1b[2J\x1b]0;owned\x07",
                "role": "member",
            },
            {"id": 2, "email": "rtl@x.test", "name": "\u202eLIAM\u202c Ross", "role": "member"},
            {"id": 3, "email": "cr@x.test", "name": "Cy\rFAKE\nLINE\x9b31m", "role": "member"},
        ],
        events=[
            event("eve@x.test", model="gpt\x1b[31m-5", chargedCents=90_000.0),
            event("rtl@x.test", model="\u2066claude\u2069"),
            event("cr@x.test"),
        ],
    )

    async def run() -> None:
        async with fake_cursor(answers) as url:
            summary = await collect(url, db_url)
            assert summary.ok, summary.failure_message()
            actions = {c["action"] for c in summary.to_json()["corrections"]}
            assert "control characters removed" in actions

    asyncio.run(run())
    config = write_config(tmp_path / "c.toml", api_url="http://127.0.0.1:9", db_url=db_url)
    assert run_cli("settings", "set", "max_spend_per_cycle", "10", config=config).code == 0
    printed = []
    for command in (
        ("stats",),
        ("detect",),
        ("incidents", "list"),
        ("stats", "--json"),
        ("incidents", "list", "--json"),
    ):
        result = run_cli(*command, config=config, env={"COLUMNS": "200"})
        assert result.code == 0, (command, result.stderr)
        assert not CONTROLS.search(result.stdout + result.stderr), (command, result.stdout)
        printed.append(result.stdout)

    text = " ".join(" ".join(printed[:3]).split())
    assert "Eve[2J]0;owned <eve@x.test>" in text
    assert "LIAM Ross <rtl@x.test>" in text
    assert "Cy FAKE LINE31m <cr@x.test>" in text
    assert "gpt[31m-5" in text
    names = {u["email"]: u["name"] for u in json.loads(printed[3])["users"]}
    assert names == {
        "eve@x.test": "Eve[2J]0;owned",
        "rtl@x.test": "LIAM Ross",
        "cr@x.test": "Cy FAKE LINE31m",
    }


def test_printable_keeps_text_and_drops_controls() -> None:
    assert printable("Zoë 😀 👨‍👩‍👧 [b]x[/b] שלום") == "Zoë 😀 👨‍👩‍👧 [b]x[/b] שלום"
    assert printable("a\tb\nc\r\nd") == "a b c  d"
    assert printable("\x1b[31mred\x1b[0m\x07") == "[31mred[0m"
    assert printable("\u202eabc\u202c \u2067x\u2069") == "abc x"


def test_an_error_body_with_an_escape_sequence_is_recorded_and_printed_without_it(
    db_url: str, tmp_path: Path
) -> None:
    answers = Answers(
        members=[{"id": 1, "email": "ann@x.test", "name": "Ann", "role": "member"}],
        refusals={"/teams/groups": (400, "bad\x1b[2J\x1b]8;;http://x.test\x07request\r\nX")},
    )

    async def run() -> Run:
        async with fake_cursor(answers) as url:
            config = write_config(tmp_path / "c.toml", api_url=url, db_url=db_url)
            return await asyncio.to_thread(run_cli, "collect", config=config)

    result = asyncio.run(run())
    assert result.code == 1
    assert not CONTROLS.search(result.stdout + result.stderr), result.stderr
    assert "refused with HTTP 400: bad[2J]8;;http://x.testrequest  X" in result.stderr
