from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from martlake.config import load_project, redact
from martlake.errors import ConfigError
from martlake.privacy import Hasher, hash_email, hash_phone, normalize_phone
from martlake.sources import ExtractContext

# HMAC-SHA256 test vector (key "key", message "The quick brown fox jumps over the lazy dog").
FOX = "The quick brown fox jumps over the lazy dog"
FOX_HMAC = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
FOX_SHA256 = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"


def test_sha256_mode_hashes_like_before_so_existing_warehouses_stay_joinable() -> None:
    hasher = Hasher()
    assert hasher.value(FOX) == FOX_SHA256
    for email in ["jane.doe@example.com", "  Jane.Doe@Example.COM "]:
        assert hasher.email(email) == hash_email(email)
        assert hasher.email(email) == hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert hasher.phone("(555) 234-5678") == hash_phone("(555) 234-5678")


def test_hmac_mode_matches_the_published_test_vector_and_differs_from_sha256() -> None:
    hasher = Hasher("hmac", "key")
    assert hasher.value(FOX) == FOX_HMAC
    assert hasher.email(" Jane@Example.com") == hasher.value("jane@example.com")
    assert hasher.email("jane@example.com") != Hasher().email("jane@example.com")
    assert Hasher("hmac", "other").email("jane@example.com") != hasher.email("jane@example.com")


def test_hmac_without_a_secret_is_a_one_line_config_error_naming_the_key_and_the_fix(
    tmp_path: Path,
) -> None:
    (tmp_path / "martlake.toml").write_text('[privacy]\nmode = "hmac"\n')
    settings = load_project(tmp_path, environ={}).settings.privacy
    with pytest.raises(ConfigError) as err:
        Hasher.from_settings(settings)
    message = str(err.value)
    assert "\n" not in message
    assert "`privacy.secret`" in message
    assert ".martlake/secrets.toml" in message and "MARTLAKE__PRIVACY__SECRET" in message
    with pytest.raises(ConfigError):
        ExtractContext(run_id="r", privacy=settings).hasher  # noqa: B018


def test_the_secret_comes_from_secrets_or_env_and_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "martlake.toml").write_text('[privacy]\nmode = "hmac"\n')
    (tmp_path / ".martlake").mkdir()
    (tmp_path / ".martlake" / "secrets.toml").write_text('[privacy]\nsecret = "s3cr3t-from-file"\n')
    from_file = load_project(tmp_path, environ={})
    from_env = load_project(tmp_path, environ={"MARTLAKE__PRIVACY__SECRET": "s3cr3t-from-env"})
    hasher = Hasher.from_settings(from_file.settings.privacy)
    assert hasher.email("jane@example.com") == Hasher("hmac", "s3cr3t-from-file").email(
        "jane@example.com"
    )
    assert Hasher.from_settings(from_env.settings.privacy).email("jane@example.com") == Hasher(
        "hmac", "s3cr3t-from-env"
    ).email("jane@example.com")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("martlake").info("settings %s hasher %r", from_file.settings, hasher)
    shown = caplog.text + repr(from_file.settings) + repr(hasher)
    assert "s3cr3t-from-file" not in shown
    assert redact("key was s3cr3t-from-file") == "key was ***"
    assert redact("key was s3cr3t-from-env") == "key was ***"


def test_an_unknown_mode_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "martlake.toml").write_text('[privacy]\nmode = "md5"\n')
    with pytest.raises(ConfigError, match="privacy.mode"):
        load_project(tmp_path, environ={})


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("+1 (555) 234-5678", "1", "+15552345678"),
        ("555.234.5678", "1", "+15552345678"),
        ("1 555 234 5678", "1", "+15552345678"),
        ("001 555 234 5678", "44", "+15552345678"),
        ("+44 (0)20 7946 0958", "1", "+442079460958"),
        ("020 7946 0958", "44", "+442079460958"),
        ("tel: +33 6 12 34 56 78", "1", "+33612345678"),
        ("5552345678", "1", "+15552345678"),
    ],
    ids=[
        "us-intl-parens",
        "us-dots",
        "us-trunk-spaces",
        "00-prefix-beats-default",
        "gb-intl-with-(0)",
        "gb-national-trunk",
        "fr-with-label",
        "us-digits-only",
    ],
)
def test_phones_normalise_to_e164(raw: str, country: str, e164: str) -> None:
    assert normalize_phone(raw, country) == e164
    assert Hasher(default_phone_country_code=country).phone(raw) == Hasher().value(e164)


def test_array_helpers_hash_each_distinct_value_once_and_keep_nulls() -> None:
    calls: list[str | None] = []

    class Counting(Hasher):
        def value(self, normalized: str | None) -> str | None:
            calls.append(normalized)
            return super().value(normalized)

    hasher = Counting()
    emails = pa.chunked_array([["A@x.com", None, " a@x.com"], ["b@x.com", "A@x.com", ""]])
    out = hasher.email_array(emails)
    assert len(calls) == 4  # "A@x.com", " a@x.com", "b@x.com", "": once each
    assert out.to_pylist() == [
        hasher.email("a@x.com"),
        None,
        hasher.email("a@x.com"),
        hasher.email("b@x.com"),
        hasher.email("a@x.com"),
        None,
    ]
    phones = pa.array([5552345678, None], pa.int64())
    assert hasher.phone_array(phones).to_pylist() == [hasher.phone("5552345678"), None]
    dictionary = pa.array(["x@y.com", "x@y.com"]).dictionary_encode()
    assert hasher.email_array(dictionary).to_pylist() == [hasher.email("x@y.com")] * 2


def test_keep_hashed_leaves_existing_hashes_alone() -> None:
    hasher = Hasher()
    hashed = hasher.email("a@x.com")
    values = pa.array([hashed, "a@x.com"])
    assert hasher.email_array(values, keep_hashed=True).to_pylist() == [hashed, hashed]
    assert hasher.email_array(values).to_pylist()[0] != hashed
