"""The README documents every setting (datasette's test_docs idea)."""

from __future__ import annotations

from semsearch.settings import Settings

from .conftest import REPO


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"`SEMSEARCH_{name.upper()}`" not in readme]
    assert missing == []
