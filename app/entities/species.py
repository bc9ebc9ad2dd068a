"""Which creature a repository gets, and what it is called.

Everything is a pure function of the repository's language and id, so the same repository
always gets the same pet, on every process and after every restart, without storing a seed.
"""

from __future__ import annotations

import hashlib
from typing import Final

from app.core.vocabulary import BLOB, GOLEM, PET, PLANT, ROBOT, SPECIES

# The seed's table, with GitHub's language names lower-cased (plus a few common spellings).
LANGUAGE_SPECIES: Final[dict[str, str]] = {
    "javascript": PET,
    "typescript": PET,
    "js": PET,
    "ts": PET,
    "python": PLANT,
    "py": PLANT,
    "jupyter notebook": PLANT,
    "go": ROBOT,
    "golang": ROBOT,
    "rust": ROBOT,
    "c++": ROBOT,
    "cpp": ROBOT,
    "java": GOLEM,
    "c#": GOLEM,
    "csharp": GOLEM,
}

SUBSPECIES: Final[dict[str, tuple[str, ...]]] = {
    PET: ("cat", "dog", "hamster"),
    PLANT: ("succulent", "fern", "flower"),
    ROBOT: ("robot", "android"),
    GOLEM: ("golem", "stone creature"),
    BLOB: ("blob",),
}

EMOJI: Final[dict[str, str]] = {
    PET: "🐱",
    PLANT: "🌱",
    ROBOT: "🤖",
    GOLEM: "🗿",
    BLOB: "🫧",
}
SUBSPECIES_EMOJI: Final[dict[str, str]] = {
    "cat": "🐱",
    "dog": "🐶",
    "hamster": "🐹",
    "succulent": "🪴",
    "fern": "🌿",
    "flower": "🌸",
}

# Short, soft, easy to say; a commit status reads "🐱 Mochi is healthy".
NAMES: Final = (
    "Mochi", "Biscuit", "Pixel", "Noodle", "Pebble", "Waffle", "Tofu", "Sprout",
    "Bubbles", "Pudding", "Maple", "Clover", "Dumpling", "Nimbus", "Sesame", "Pickle",
    "Juniper", "Marble", "Toffee", "Wasabi", "Cocoa", "Button", "Hazel", "Ziggy",
    "Poppy", "Miso", "Nugget", "Olive", "Peanut", "Sushi", "Basil", "Cinnamon",
    "Fig", "Gizmo", "Kiwi", "Latte", "Muffin", "Nacho", "Oreo", "Pumpkin",
    "Quokka", "Radish", "Sprocket", "Taco", "Umami", "Velvet", "Widget", "Yuzu",
    "Bean", "Churro", "Dottie", "Ember", "Fudge", "Gumdrop", "Honey", "Inky",
    "Jelly", "Kumquat", "Lychee", "Mango", "Nori", "Pistachio", "Ramen", "Sundae",
)  # fmt: skip

ROMAN: Final = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip


def stable_hash(*parts: object) -> int:
    """A 64-bit hash that, unlike `hash()`, is the same in every process."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def species_type(language: str | None) -> str:
    """The seed's table: language → pet, plant, robot, golem, or blob for anything else."""
    if not language:
        return BLOB
    return LANGUAGE_SPECIES.get(language.strip().lower(), BLOB)


def subspecies_for(kind: str, repo_id: int) -> str:
    """The sub-species of a species type, picked deterministically from the repository id."""
    options = SUBSPECIES.get(kind, SUBSPECIES[BLOB])
    return options[stable_hash("subspecies", repo_id) % len(options)]


def species_for(language: str | None, repo_id: int) -> tuple[str, str]:
    """(species type, sub-species) after the seed's table; the same repository, the same pet."""
    kind = species_type(language)
    return kind, subspecies_for(kind, repo_id)


def emoji_for(species: str, subspecies: str | None = None) -> str:
    """The sub-species' own emoji when it has one, else the species'."""
    if subspecies and subspecies in SUBSPECIES_EMOJI:
        return SUBSPECIES_EMOJI[subspecies]
    return EMOJI.get(species, EMOJI[BLOB])


def pet_name(key: int | str) -> str:
    """A pleasant name, stable for a repository (pass its id or its full name)."""
    return NAMES[stable_hash("name", key) % len(NAMES)]


def roman(number: int) -> str:
    """Roman numerals for generation suffixes (1 → I, 14 → XIV)."""
    if number < 1:
        raise ValueError("generations start at 1")
    out = []
    for value, letters in ROMAN:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def generation_name(name: str, generation: int) -> str:
    """ "Mochi" for the first generation, "Mochi II" for the second, and so on."""
    base = strip_generation(name)
    return base if generation <= 1 else f"{base} {roman(generation)}"


def strip_generation(name: str) -> str:
    """The name without a trailing roman-numeral suffix, so revivals don't stack suffixes."""
    head, _, tail = name.rpartition(" ")
    if head and tail and set(tail) <= set("IVXLCDM"):
        return head
    return name


__all__ = [
    "BLOB",
    "EMOJI",
    "GOLEM",
    "NAMES",
    "PET",
    "PLANT",
    "ROBOT",
    "SPECIES",
    "SUBSPECIES",
    "emoji_for",
    "generation_name",
    "pet_name",
    "roman",
    "species_for",
    "species_type",
    "stable_hash",
    "strip_generation",
    "subspecies_for",
]
