"""`Hasher`: one object that turns emails and phones into the project's hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from martlake.errors import ConfigError
from martlake.privacy._hashing import normalize_email, normalize_phone

if TYPE_CHECKING:
    from martlake.config import PrivacySettings

HashMode = Literal["sha256", "hmac"]
HEX_HASH = re.compile(r"[0-9a-f]{64}")
"""What a martlake hash looks like: 64 lower-case hex digits."""

ArrowStrings = Any
"""A `pa.Array` or `pa.ChunkedArray` of strings (or of values cast to strings)."""


class Hasher:
    """Normalise and hash PII the same way in every source and table.

    `sha256` mode gives the SHA-256 hex digest of the normalised value (what ad platforms
    accept for customer matching); `hmac` mode an HMAC-SHA256 keyed with the project's secret.

    >>> Hasher().email("  Jane@Example.com")[:12]
    '8c87b489ce35'
    >>> Hasher().phone("(555) 123-4567") == Hasher().value("+15551234567")
    True
    """

    __slots__ = ("_key", "default_phone_country_code", "mode")

    def __init__(
        self,
        mode: HashMode = "sha256",
        secret: str | None = None,
        default_phone_country_code: str = "1",
    ) -> None:
        """Args:
            mode: `sha256` or `hmac`.
            secret: The HMAC key; required with `mode="hmac"`, ignored otherwise.
            default_phone_country_code: Calling code for phones written without one.

        Raises:
            ConfigError: `hmac` mode without a secret.
        """
        if mode not in ("sha256", "hmac"):
            raise ConfigError(f"`privacy.mode` `{mode}` is unknown: use `sha256` or `hmac`")
        if mode == "hmac" and not secret:
            raise ConfigError(
                '`privacy.secret` is not set but `privacy.mode` is `hmac`: add `secret = "…"` '
                "under [privacy] in .martlake/secrets.toml or set MARTLAKE__PRIVACY__SECRET "
                '(or use mode = "sha256")'
            )
        self.mode: HashMode = mode
        self.default_phone_country_code = default_phone_country_code
        self._key = secret.encode("utf-8") if mode == "hmac" and secret else None

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> Hasher:
        """The hasher of a project's `[privacy]` settings.

        Raises:
            ConfigError: `mode = "hmac"` without `secret`.
        """
        secret = settings.secret.get_secret_value() if settings.secret is not None else None
        return cls(settings.mode, secret, settings.default_phone_country_code)

    def __repr__(self) -> str:
        return f"Hasher(mode={self.mode!r})"

    def value(self, normalized: str | None) -> str | None:
        """Hash of an already normalised value; `None` stays `None`."""
        if normalized is None:
            return None
        data = normalized.encode("utf-8")
        if self._key is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def email(self, value: str | None) -> str | None:
        """Trim, lower-case and hash an email; `None` for blanks."""
        return self.value(normalize_email(value))

    def phone(self, value: str | None) -> str | None:
        """Normalise a phone to E.164 and hash it; `None` when it has no digits."""
        return self.value(normalize_phone(value, self.default_phone_country_code))

    def text(self, value: str | None) -> str | None:
        """Hash a trimmed identifier (kind `hash`); `None` for blanks."""
        if value is None:
            return None
        return self.value(value.strip() or None)

    def email_array(self, values: ArrowStrings, *, keep_hashed: bool = False) -> pa.Array:
        """`email` over an Arrow array: each distinct value is hashed once; nulls stay null.

        With `keep_hashed`, values that already look like a hash (64 lower-case hex digits)
        are kept as they are, so hashing a column twice changes nothing."""
        return self._map(values, self.email, keep_hashed)

    def phone_array(self, values: ArrowStrings, *, keep_hashed: bool = False) -> pa.Array:
        """`phone` over an Arrow array: each distinct value is hashed once; nulls stay null."""
        return self._map(values, self.phone, keep_hashed)

    def text_array(self, values: ArrowStrings, *, keep_hashed: bool = False) -> pa.Array:
        """`text` over an Arrow array: each distinct value is hashed once; nulls stay null."""
        return self._map(values, self.text, keep_hashed)

    def _map(
        self, values: ArrowStrings, fn: Callable[[str | None], str | None], keep_hashed: bool
    ) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.string())
        encoded = pc.dictionary_encode(values)
        distinct = encoded.dictionary.to_pylist()
        hashed = pa.array(
            [v if keep_hashed and v and HEX_HASH.fullmatch(v) else fn(v) for v in distinct],
            pa.string(),
        )
        return hashed.take(encoded.indices)
