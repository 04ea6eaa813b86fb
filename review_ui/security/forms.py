"""Forms the UI will read: refused whole when they are not a form (415), or hold a file, what
Postgres text cannot store (a NUL character), bytes that are not UTF-8 or a broken %-escape
(400), so that no handler stores a mangled value or acts on half a form."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.datastructures import FormData

URLENCODED = "application/x-www-form-urlencoded"
FORM_TYPES = (URLENCODED, "multipart/form-data")
_BROKEN_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def undecodable(body: bytes) -> bool:
    """Whether a URL-encoded body holds a broken %-escape, or a name or value that is not
    UTF-8 once decoded."""
    if _BROKEN_ESCAPE.search(body):
        return True
    for pair in body.split(b"&"):
        for piece in pair.split(b"=", 1):
            try:
                unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return True
    return False


def unreadable(form: FormData) -> str | None:
    """What makes a parsed form unreadable: a file (the UI uploads none) or a NUL character
    in a field's name or value; None when nothing does."""
    for key, value in form.multi_items():
        if not isinstance(value, str):
            return "The UI accepts no files."
        if "\x00" in key or "\x00" in value:
            return "The form holds a NUL character."
    return None
