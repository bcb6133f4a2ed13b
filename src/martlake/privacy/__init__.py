"""PII protection: emails and phones are normalised and hashed before any row is stored."""

from martlake.privacy._columns import DEFAULT_PII_COLUMNS, PiiPolicy
from martlake.privacy._hasher import HEX_HASH, Hasher, HashMode
from martlake.privacy._hashing import (
    hash_email,
    hash_phone,
    hash_value,
    normalize_email,
    normalize_phone,
)
from martlake.privacy._scan import (
    Finding,
    mask,
    redact_contacts,
    scan,
    scan_files,
    scan_warehouse,
)

__all__ = [
    "DEFAULT_PII_COLUMNS",
    "Finding",
    "HEX_HASH",
    "HashMode",
    "Hasher",
    "PiiPolicy",
    "hash_email",
    "hash_phone",
    "hash_value",
    "mask",
    "normalize_email",
    "normalize_phone",
    "redact_contacts",
    "scan",
    "scan_files",
    "scan_warehouse",
]
