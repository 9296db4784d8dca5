"""real_audio_dir: an explicit folder or REAL_AUDIO_DIR wins; a folder needs its manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.real_audio import real_audio_dir


def test_explicit_folder_needs_a_manifest(tmp_path: Path) -> None:
    assert real_audio_dir(tmp_path) is None
    (tmp_path / "manifest.json").write_text("{}")
    assert real_audio_dir(tmp_path) == tmp_path


def test_environment_variable_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    monkeypatch.setenv("REAL_AUDIO_DIR", str(tmp_path))
    assert real_audio_dir() == tmp_path
    monkeypatch.setenv("REAL_AUDIO_DIR", str(tmp_path / "missing"))
    assert real_audio_dir() is None
