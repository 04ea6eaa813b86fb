#!/usr/bin/env python3
"""Rewrite the README's configuration table from the Settings model (tests check it)."""

from pathlib import Path

from agent.commands.settings_cmd import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"

text = README.read_text()
head, rest = text.split(BEGIN, 1)
_, tail = rest.split(END, 1)
README.write_text(f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}")
print("README configuration table updated")
