"""PII protection: emails and phones are normalised and hashed before any row is stored."""

from martlake.privacy._hashing import (
    hash_email,
    hash_phone,
    hash_value,
    normalize_email,
    normalize_phone,
)

__all__ = ["hash_email", "hash_phone", "hash_value", "normalize_email", "normalize_phone"]
