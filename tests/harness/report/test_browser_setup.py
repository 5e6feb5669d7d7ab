"""The browser tests without Chromium: skipped with the install command on a developer's machine, failed under CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.harness.report.browser import require_chromium


def test_without_chromium_a_developer_skips_and_ci_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = shutil.which("chromium") or shutil.which("chromium-browser")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH: no chromium
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"not installed .*apt-get install -y chromium \(Debian"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"required under CI=true .*apt-get install -y chromium"):
        require_chromium()
    if installed:  # found again once it is on PATH, under CI or not
        monkeypatch.setenv("PATH", os.path.dirname(installed))
        assert require_chromium() == installed
