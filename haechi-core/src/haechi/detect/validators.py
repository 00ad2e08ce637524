"""Check-digit and shape validators for the built-in rules (spec §3).

Each validator takes the matched text exactly as the rule matched it (separators
included) and returns True when the value is plausible. None of them raises on odd input.
"""

from __future__ import annotations

__all__ = [
    "de_steuer_id_valid",
    "es_dni_nie_valid",
    "fr_nir_valid",
    "iban_valid",
    "in_aadhaar_valid",
    "it_codice_fiscale_valid",
    "jp_mynumber_valid",
    "kr_phone_valid",
    "kr_rrn_valid",
    "luhn_valid",
    "nl_bsn_valid",
    "sg_nric_valid",
    "uk_nino_valid",
    "us_ssn_valid",
    "verhoeff_valid",
]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def luhn_valid(text: str) -> bool:
    """Luhn over the digits only; 13 to 19 digits (card numbers)."""
    digits = _digits(text)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = ord(ch) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def kr_rrn_valid(text: str) -> bool:
    """Korean resident registration number: check digit (11 - Σ d·w mod 11) mod 10."""
    digits = _digits(text)
    if len(digits) != 13:
        return False
    total = sum((ord(d) - 48) * w for d, w in zip(digits, _RRN_WEIGHTS, strict=False))
    return (11 - total % 11) % 10 == ord(digits[12]) - 48


def kr_phone_valid(text: str) -> bool:
    """A separated number passes; an unseparated one must start with 0 (so a bare
    10-digit timestamp such as 1712345678 is not a phone)."""
    if any(ch in "-. +" for ch in text):
        return True
    return text.startswith("0")


def us_ssn_valid(text: str) -> bool:
    """Area not 000, 666 or 900-999; group not 00; serial not 0000."""
    parts = text.split("-")
    if len(parts) != 3:
        return False
    area, group, serial = parts
    if area == "000" or area == "666" or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


def _letters_to_number(text: str) -> int | None:
    converted = []
    for ch in text:
        if "0" <= ch <= "9":
            converted.append(ch)
        elif "A" <= ch <= "Z":
            converted.append(str(ord(ch) - 55))
        else:
            return None
    return int("".join(converted))


def iban_valid(text: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10-35, mod 97 == 1."""
    if len(text) < 5:
        return False
    number = _letters_to_number(text[4:] + text[:4])
    return number is not None and number % 97 == 1


def jp_mynumber_valid(text: str) -> bool:
    """Japanese My Number (12 digits): weighted check digit over the first 11."""
    if len(text) != 12 or not text.isdigit() or not text.isascii():
        return False
    total = 0
    for n in range(1, 12):
        digit = ord(text[11 - n]) - 48
        weight = n + 1 if n <= 6 else n - 5
        total += digit * weight
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == ord(text[11]) - 48


def fr_nir_valid(text: str) -> bool:
    """French NIR (15 characters): key = 97 - (first 13 mod 97), Corsica 2A→19, 2B→18."""
    if len(text) != 15:
        return False
    body = text[:13].upper()
    body = body[:5] + body[5:7].replace("2A", "19").replace("2B", "18") + body[7:]
    key = text[13:]
    if not body.isdigit() or not body.isascii() or not key.isdigit() or not key.isascii():
        return False
    return 97 - int(body) % 97 == int(key)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_nie_valid(text: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter); the letter is
    ``TRWAGMYFPDXBNJZSQVHLCKE[n % 23]``."""
    value = text.upper()
    if len(value) != 9:
        return False
    head, letter = value[:8], value[8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    if not head.isdigit() or not head.isascii():
        return False
    return _DNI_LETTERS[int(head) % 23] == letter


_CF_ODD = (
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
)


def _cf_value(ch: str, odd: bool) -> int:
    index = ord(ch) - 48 if ch.isdigit() else ord(ch) - 65
    return _CF_ODD[index] if odd else index


def it_codice_fiscale_valid(text: str) -> bool:
    """Italian codice fiscale: odd/even tables over characters 1-15, mod 26 is character 16."""
    value = text.upper()
    if len(value) != 16 or not value.isascii() or not value.isalnum():
        return False
    total = sum(_cf_value(ch, odd=(i % 2 == 0)) for i, ch in enumerate(value[:15]))
    return chr(65 + total % 26) == value[15]


_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_NRIC_TABLES = {
    "S": "JZIHGFEDCBA",
    "T": "JZIHGFEDCBA",
    "F": "XWUTRQPNMLK",
    "G": "XWUTRQPNMLK",
    "M": "KLJNPQRTUWX",
}
_NRIC_OFFSETS = {"T": 4, "G": 4, "M": 3}


def sg_nric_valid(text: str) -> bool:
    """Singapore NRIC/FIN: weights 2,7,6,5,4,3,2 (+4 for T/G, +3 for M), letter tables by prefix."""
    value = text.upper()
    if len(value) != 9 or value[0] not in _NRIC_TABLES:
        return False
    digits = value[1:8]
    if not digits.isdigit() or not digits.isascii():
        return False
    total = sum((ord(d) - 48) * w for d, w in zip(digits, _NRIC_WEIGHTS, strict=True))
    total += _NRIC_OFFSETS.get(value[0], 0)
    return _NRIC_TABLES[value[0]][total % 11] == value[8]


_UK_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def uk_nino_valid(text: str) -> bool:
    """UK National Insurance number: no checksum, only prefix and letter exclusions."""
    if len(text) != 9:
        return False
    first, second = text[0], text[1]
    if text[:2] in _UK_BAD_PREFIXES:
        return False
    return first not in "DFIQUV" and second not in "DFIOQUV"


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(text: str) -> bool:
    """Verhoeff checksum over a digit string (the last digit is the check digit)."""
    if not text or not text.isdigit() or not text.isascii():
        return False
    check = 0
    for position, ch in enumerate(reversed(text)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][ord(ch) - 48]]
    return check == 0


def in_aadhaar_valid(text: str) -> bool:
    """Indian Aadhaar: 12 digits, first digit 2-9, Verhoeff."""
    return len(text) == 12 and text[0] in "23456789" and verhoeff_valid(text)


def _iso7064_mod11_10_check(digits: str) -> int:
    product = 10
    for ch in digits:
        total = (ord(ch) - 48 + product) % 10
        if total == 0:
            total = 10
        product = (total * 2) % 11
    check = 11 - product
    return 0 if check == 10 else check


def de_steuer_id_valid(text: str) -> bool:
    """German Steuer-ID (11 digits): exactly one digit of the first ten repeats, 2 or 3
    times, and the last digit is the ISO 7064 MOD 11,10 check digit."""
    if len(text) != 11 or not text.isdigit() or not text.isascii():
        return False
    head = text[:10]
    repeated = [head.count(d) for d in set(head) if head.count(d) > 1]
    if len(repeated) != 1 or repeated[0] not in (2, 3):
        return False
    return _iso7064_mod11_10_check(head) == ord(text[10]) - 48


def nl_bsn_valid(text: str) -> bool:
    """Dutch BSN (9 digits): not all zeros; Σ d_i·(9-i) for i<8, minus d_8, ≡ 0 mod 11."""
    if len(text) != 9 or not text.isdigit() or not text.isascii() or text == "000000000":
        return False
    total = sum((ord(text[i]) - 48) * (9 - i) for i in range(8)) - (ord(text[8]) - 48)
    return total % 11 == 0
