"""Normalise then SHA-256 hash, the form ad platforms accept for customer matching."""

from __future__ import annotations

import hashlib
import re

_NUMBER_START = re.compile(r"[+0-9(]")


def normalize_email(value: str | None) -> str | None:
    """Trim and lower-case an email; `None` for blanks.

    >>> normalize_email("  Jane.Doe@Example.COM ")
    'jane.doe@example.com'
    """
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def normalize_phone(value: str | None, default_country_code: str = "1") -> str | None:
    """Bring a phone number to E.164 (`+` and digits); `None` when nothing is left.

    Numbers without an international prefix get `default_country_code`; a national trunk `0`
    is dropped first.

    >>> normalize_phone("(555) 123-4567")
    '+15551234567'
    >>> normalize_phone("0044 20 7946 0958")
    '+442079460958'
    >>> normalize_phone("06 12 34 56 78", "33")
    '+33612345678'
    >>> normalize_phone("tel: +44 (0)20 7946 0958")
    '+442079460958'
    """
    if value is None:
        return None
    # A label before the number (`tel:`, `Phone`) and the `(0)` some write after the country
    # code (`+44 (0)20 …`) are not part of it.
    start = _NUMBER_START.search(value)
    text = value[start.start() :] if start else ""
    if text.startswith("+"):
        text = text.replace("(0)", "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return None
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if default_country_code == "1" and len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + default_country_code + digits.lstrip("0")


def hash_value(normalized: str | None) -> str | None:
    """SHA-256 hex digest of an already normalised value."""
    if normalized is None:
        return None
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def hash_email(value: str | None) -> str | None:
    """Normalise and hash an email; the same address always gives the same hash."""
    return hash_value(normalize_email(value))


def hash_phone(value: str | None, default_country_code: str = "1") -> str | None:
    """Normalise to E.164 and hash a phone number."""
    return hash_value(normalize_phone(value, default_country_code))
