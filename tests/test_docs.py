"""The docs say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from agent.commands.settings_cmd import markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_configuration_table_lists_every_setting():
    block = README.split("<!-- settings:begin -->")[1].split("<!-- settings:end -->")[0]
    assert block.strip() == markdown_table().strip(), "run scripts/update-readme-settings.py"


def test_readme_quick_start_is_two_commands():
    quick = README.split("## Quick start")[1].split("```bash")[1].split("```")[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
