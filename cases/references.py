"""Case reference numbers such as ``JPD-2026-00042-K``.

Short and easy to read out on the phone: the year, a sequence number within the
year, and a check letter. The check letter is a weighted sum of the digits
modulo 23 (a prime), with distinct position weights, so any single mistyped
digit and any swap of two neighbouring digits gives a different letter and is
caught. Letters that are easily confused with digits (I, O, Q) are not used.

A reference identifies a case to people; it is never a key to it. Access needs
the client's signed link or a staff login (see ``cases.links``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "JPD"
CHECK_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O or Q
SEQUENCE_WIDTH = 5

_PATTERN = re.compile(rf"^{PREFIX}-?(\d{{4}})-?(\d{{{SEQUENCE_WIDTH},}})-?([A-Z])$")
# A reference written somewhere in a text (an email's subject), with or without its hyphens.
IN_TEXT = re.compile(rf"\b{PREFIX}-?\s?\d{{4}}-?\s?\d{{{SEQUENCE_WIDTH},}}-?\s?[A-Z]\b", re.IGNORECASE)


def check_letter(year: int, sequence: int) -> str:
    digits = f"{year:04d}{sequence:0{SEQUENCE_WIDTH}d}"
    # Weights 1, 2, 3... from the right are distinct and non-zero modulo 23 for
    # up to 22 digits, which is what makes single errors and swaps detectable.
    total = sum(int(digit) * weight for weight, digit in enumerate(reversed(digits), start=1))
    return CHECK_ALPHABET[total % len(CHECK_ALPHABET)]


def format_reference(year: int, sequence: int) -> str:
    return f"{PREFIX}-{year:04d}-{sequence:0{SEQUENCE_WIDTH}d}-{check_letter(year, sequence)}"


@dataclass(frozen=True)
class ParsedReference:
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_reference(self.year, self.sequence)


def normalise(text: str) -> str:
    """Upper-case, without spaces, with the usual look-alikes mapped (O→0 in digits)."""
    return re.sub(r"[\s_.]", "", text.strip().upper())


def parse_reference(text: str) -> ParsedReference | None:
    """The reference ``text`` names if it is well formed and its check letter agrees."""
    match = _PATTERN.match(normalise(text))
    if not match:
        return None
    year, sequence, letter = int(match[1]), int(match[2]), match[3]
    if check_letter(year, sequence) != letter:
        return None
    return ParsedReference(year, sequence)


def references_in(text: str) -> list[ParsedReference]:
    """Every valid reference (check letter agreeing) written in ``text``, in order, each once."""
    found = (parse_reference(written) for written in IN_TEXT.findall(text))
    return list(dict.fromkeys(reference for reference in found if reference is not None))


def is_valid_reference(text: str) -> bool:
    return parse_reference(text) is not None
