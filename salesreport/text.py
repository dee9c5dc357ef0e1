"""CRM text made safe to show: control and bidirectional-override characters escaped visibly, one line,
a bounded length. Text typed into a CRM reaches terminals, cron logs and error messages: an ESC sequence,
an OSC 8 link or a right-to-left override must show as what it is, never act."""

from __future__ import annotations

import re

# format characters that reorder or hide text (bidi embeddings, overrides and isolates; zero-width marks)
_INVISIBLE = {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
              *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _unsafe(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0 or code in _INVISIBLE


def _visible(ch: str) -> str:
    code = ord(ch)
    if not _unsafe(ch):
        return ch
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_line(text: object, limit: int | None = None) -> str:
    """`text` on one line with every control or bidi character written as an escape (\\x1b, \\u202e); cut
    to `limit` characters with "…" when longer."""
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit]
        cut = True
    else:
        cut = False
    if any(map(_unsafe, value)):
        value = "".join(map(_visible, value))
    return value + ("…" if cut else "")


def safe_text(text: object) -> str:
    """A message of ours that quotes CRM text: its own line breaks kept, every other control or bidi
    character escaped (the cells it quotes were cut to one line by safe_line)."""
    return "\n".join(safe_line(line) for line in str(text).split("\n"))


# one plain addr-spec: no display name, no list, no spaces or line breaks (a header could be injected)
_ADDRESS = re.compile(r"[^@\s,;:<>()\[\]\\\"]+@[^@\s,;:<>()\[\]\\\"]+\.[^@\s,;:<>()\[\]\\\".]+")


def is_address(text: str) -> bool:
    """Exactly one e-mail address like anna@example.com (so "elena@x, spy@evil.example" is not one)."""
    return _ADDRESS.fullmatch(text) is not None


def listed(items, shown: int, width: int = 60) -> str:
    """Items for a message or a cell: all of a short list; of a long one (an export may have thousands) the
    first `shown`, then how many more. Each item on one line, cut to `width` characters."""
    items = list(items)
    more = f" … and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(safe_line(item, width) for item in items[:shown]) + more
