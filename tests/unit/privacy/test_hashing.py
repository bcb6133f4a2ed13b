from __future__ import annotations

import hashlib

import pytest

from martlake.privacy import hash_email, hash_phone, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "variant",
    ["jane.doe@example.com", "  Jane.Doe@Example.COM ", "JANE.DOE@EXAMPLE.COM\t"],
    ids=["canonical", "padded-mixed-case", "upper-with-tab"],
)
def test_email_variants_hash_to_the_sha256_of_the_normalised_address(variant: str) -> None:
    expected = hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert hash_email(variant) == expected


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("+1 555-123-4567", "1", "+15551234567"),
        ("(555) 123 4567", "1", "+15551234567"),
        ("1-555-123-4567", "1", "+15551234567"),
        ("0044 20 7946 0958", "1", "+442079460958"),
        ("06 12 34 56 78", "33", "+33612345678"),
    ],
    ids=["intl-us", "national-us", "us-with-trunk", "00-prefix", "fr-national"],
)
def test_phone_formats_normalise_to_e164(raw: str, country: str, e164: str) -> None:
    assert normalize_phone(raw, country) == e164
    assert hash_phone(raw, country) == hashlib.sha256(e164.encode()).hexdigest()


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_values_hash_to_none(blank: str | None) -> None:
    assert normalize_email(blank) is None
    assert hash_email(blank) is None
    assert hash_phone(blank) is None


def test_different_people_get_different_hashes() -> None:
    assert hash_email("a@example.com") != hash_email("b@example.com")
