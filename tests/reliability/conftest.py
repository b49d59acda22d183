"""The reliability suite reuses the API and Slack fixtures (hashing model, note folders, clients, a
fake Slack) and adds measured figures, shown at the end of the run, and a reader of resident memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import (  # noqa: F401  (fixtures, registered by import)
    _hashing_model,
    build_a,
    client,
    make_client,
    make_settings,
    notes_a,
    notes_b,
)
from tests.slack.conftest import (  # noqa: F401  (fixtures, registered by import)
    app,
    fake_slack,
    live,
    searcher,
    settings,
    slack_index,
    slack_notes,
)


def rss_mib() -> float:
    """This process's resident set size in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


FIGURES: dict[str, dict[str, object]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, object]:
    """Measured figures of a test, shown in the "reliability figures" section of the summary."""
    return FIGURES.setdefault(request.node.name, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, values in FIGURES.items():
            terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
