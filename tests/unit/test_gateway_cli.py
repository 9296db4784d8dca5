"""The `mashup` command's progress output: a bar in place on a terminal, lines in a log."""

from __future__ import annotations

import io

import pytest

from gateway import cli


class _Stdout(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


STATES = [{"progress": 5.0, "currentStep": "Analyzing songs"}] * 3 + \
    [{"progress": 48.0, "currentStep": "Separating stems"}] * 2 + \
    [{"progress": 100.0, "currentStep": "Complete"}]


def _shown(monkeypatch: pytest.MonkeyPatch, tty: bool) -> str:
    out = _Stdout(tty)
    monkeypatch.setattr(cli.sys, "stdout", out)
    printer = cli._ProgressPrinter()
    for state in STATES:
        printer.show(state)
    printer.close()
    return out.getvalue()


def test_a_log_gets_one_line_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _shown(monkeypatch, tty=False)
    lines = text.splitlines()
    assert "\r" not in text and len(lines) == 3
    assert lines[0].endswith("5.0%  Analyzing songs") and "#" in lines[2]
    assert lines[2] == "[" + "#" * cli.BAR_WIDTH + "] 100.0%  Complete"


def test_a_terminal_gets_one_bar_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _shown(monkeypatch, tty=True)
    assert text.count("\r") == len(STATES) and text.endswith("\n") and text.count("\n") == 1
