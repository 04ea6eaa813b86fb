"""Plain text from an HTML mail body (stdlib ``html.parser``): the words a person wrote, with
paragraphs and line breaks kept, and nothing of scripts, styles or the head."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose start and end break the line (a paragraph, a list item, a table row ...).
BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tr ul".split()
)
HIDDEN = frozenset({"head", "script", "style", "template", "title", "noscript"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        elif tag in BLOCKS:
            self.parts.append("\n")
        if tag == "td" or tag == "th":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of ``html``: whitespace runs collapsed, at most one blank line."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (
        re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip()
        for line in "".join(collector.parts).split("\n")
    )
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
