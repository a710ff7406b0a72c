"""The README documents every setting, with its real default."""

from __future__ import annotations

import json
from pathlib import Path

from hams.settings import Settings

README = Path(__file__).parents[2] / "README.md"


def settings_rows() -> list[str]:
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default
        if default is None or hasattr(default, "get_secret_value"):
            shown = "(unset)"
        elif isinstance(default, dict | list):
            shown = f"`{json.dumps(default)}`"
        else:
            shown = f"`{default}`"
        rows.append(f"| `HAMS_{name.upper()}` | {shown} | {field.description} |")
    return rows


def test_every_setting_is_in_the_readme_table():
    text = README.read_text()
    table = text.split("<!-- settings-table:start -->")[1].split("<!-- settings-table:end -->")[0]
    missing = [row for row in settings_rows() if row not in table]
    assert not missing, "README settings table is out of date:\n" + "\n".join(missing)


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert "make serve" in text and "make test" in text
