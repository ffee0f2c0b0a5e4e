"""Does an email address plausibly belong to the person a record names?

An address on an institution's domain proves membership of the institution, not identity:
`info@`, `dean@` or a colleague's address are on the domain too. A claim with such an
address is approved at once only when its local part also looks like the record's name.

1. Names (the display name and every alternative name) and the local part are compared
   without accents, case, digits or punctuation; "Medina, Rossana" reads as
   "Rossana Medina"; a "+tag" in the address is ignored.
2. The surname candidates are the name's last word and, for names of three words or
   more, the word before it (double surnames: "Rossana Tamara Medina Valencia", "Gabriel
   García Márquez"); particles (van, de, da...) are never a surname by themselves.
3. The local part matches when it contains a surname of four letters or more, when one of
   its words (split at `.`, `_`, `-`) is the surname, or when it is the surname preceded
   or followed by initials of the other names, in order (`rmedina`, `rtmedina`,
   `medinar`, `jli` for Jing Li).
Anything else (a given name alone, a role address, someone else's name) is for a curator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "das", "do", "dos", "di", "du"}
    | {"la", "le", "el", "al", "bin", "ibn", "ten", "ter", "y", "e"}
)
# Below this length a surname must be a whole word of the local part (or come with
# initials): "li" is inside "alice".
SUBSTRING_MIN_LENGTH = 4


def _fold(text: str) -> str:
    """Lower case, accents off (ø, ł and ß have no decomposition, so they are mapped)."""
    text = text.lower().replace("ø", "o").replace("ł", "l").replace("ß", "ss").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z]+", _fold(text)) if w]


def name_words(name: str) -> list[str]:
    """The name's words in reading order ("Surname, Given" turned around)."""
    if name.count(",") == 1:
        surname, given = name.split(",")
        name = f"{given} {surname}"
    return _words(name)


def _surnames(words: list[str]) -> list[str]:
    candidates = words[-2:] if len(words) >= 3 else words[-1:]
    return [w for w in candidates if w not in PARTICLES and len(w) >= 2]


def _initials_around(local: str, surname: str, others: list[str]) -> bool:
    """`local` is `surname` with initials of `others` (in their order) before or after it."""
    for rest in (
        local[: -len(surname)] if local.endswith(surname) else None,
        local[len(surname) :] if local.startswith(surname) else None,
    ):
        if not rest:
            continue
        initials = iter(w[0] for w in others)
        if all(any(letter == initial for initial in initials) for letter in rest):
            return True
    return False


def local_part_matches_name(email: str, names: Iterable[str]) -> bool:
    local = email.rsplit("@", 1)[0].split("+", 1)[0]
    local_words = _words(local)
    joined = "".join(local_words)
    if not joined:
        return False
    for name in names:
        words = name_words(name or "")
        for surname in _surnames(words):
            others = [w for w in words if w != surname]
            if surname in local_words:
                return True
            if len(surname) >= SUBSTRING_MIN_LENGTH and surname in joined:
                return True
            if _initials_around(joined, surname, others):
                return True
    return False
