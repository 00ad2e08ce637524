from __future__ import annotations

import pytest
from haechi.detect import validators as v


def _bump(value: str) -> str:
    """Change the last (check) character by one."""
    last = value[-1]
    if last.isdigit():
        return value[:-1] + str((int(last) + 1) % 10)
    return value[:-1] + chr((ord(last) - 65 + 1) % 26 + 65)


# Published or hand-computed examples with a valid check character.
VALID = [
    (v.luhn_valid, "4111111111111111"),
    (v.luhn_valid, "4111-1111-1111-1111"),
    (v.luhn_valid, "378282246310005"),
    (v.kr_rrn_valid, "900101-1234568"),
    (v.iban_valid, "DE89370400440532013000"),
    (v.iban_valid, "GB82WEST12345698765432"),
    (v.jp_mynumber_valid, "123456789018"),
    (v.fr_nir_valid, "255081416802538"),
    (v.fr_nir_valid, "184022A123456" + f"{97 - int('1840219123456') % 97:02d}"),  # Corsica
    (v.es_dni_nie_valid, "12345678Z"),
    (v.es_dni_nie_valid, "X1234567L"),
    (v.it_codice_fiscale_valid, "RSSMRA85T10A562S"),
    (v.sg_nric_valid, "S1234567D"),
    (v.sg_nric_valid, "T1234567J"),
    (v.sg_nric_valid, "F1234567N"),
    (v.verhoeff_valid, "2363"),
    (v.in_aadhaar_valid, "234123412346"),
    (v.de_steuer_id_valid, "65929970489"),
    (v.nl_bsn_valid, "111222333"),
]


@pytest.mark.parametrize(("check", "value"), VALID)
def test_valid_examples_pass(check, value):
    assert check(value)


@pytest.mark.parametrize(("check", "value"), VALID)
def test_off_by_one_check_character_fails(check, value):
    assert not check(_bump(value))


def test_luhn_length_bounds():
    assert not v.luhn_valid("0" * 12)
    assert not v.luhn_valid("0" * 20)
    assert v.luhn_valid("0" * 13)


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000"],
)
def test_us_ssn_reserved_numbers_fail(ssn):
    assert not v.us_ssn_valid(ssn)


def test_us_ssn_ordinary_passes():
    assert v.us_ssn_valid("123-45-6789")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("010-1234-5678", True),
        ("01012345678", True),
        ("1012345678", False),
        ("+82 10 1234 5678", True),
        ("10.1234.5678", True),
    ],
)
def test_kr_phone_rule(value, ok):
    assert v.kr_phone_valid(value) is ok


@pytest.mark.parametrize(
    "nino",
    [
        "BG123456A",
        "GB123456A",
        "NK123456A",
        "KN123456A",
        "TN123456A",
        "NT123456A",
        "ZZ123456A",
        "DA123456A",
        "AO123456A",
    ],
)
def test_uk_nino_excluded_prefixes(nino):
    assert not v.uk_nino_valid(nino)


def test_uk_nino_ordinary_passes():
    assert v.uk_nino_valid("AB123456C")


def test_steuer_id_repeat_rule():
    # 10 distinct digits in the head: no digit repeats, so invalid whatever the check digit
    assert not any(v.de_steuer_id_valid("0123456789" + d) for d in "0123456789")
    # one digit four times: invalid whatever the check digit
    assert not any(v.de_steuer_id_valid("1111234567" + d) for d in "0123456789")


def test_bsn_all_zeros_fails():
    assert not v.nl_bsn_valid("000000000")


def test_iban_odd_input_is_rejected_without_error():
    assert not v.iban_valid("DE89-3704")
    assert not v.iban_valid("")
