"""Text that people read: characters that can disguise it are removed before it is stored.

Bidirectional controls can make a name read differently from what it is (the "Trojan Source"
trick), and zero-width characters make two different names look the same. Pet names and
commit status contexts reach GitHub's UI, pet pages and badges, so both lose them.
"""

from __future__ import annotations

import re

# Bidi embeddings, overrides and isolates, the bidi marks (LRM, RLM, ALM), zero-width space,
# joiners and no-break space (BOM), word joiner and the invisible operators, and the Mongolian
# vowel separator.
INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """`text` without bidi controls or zero-width characters."""
    return INVISIBLE.sub("", text)
