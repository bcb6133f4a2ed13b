"""Connectors: each reads one vendor API and yields typed pyarrow tables for the raw zone."""

from __future__ import annotations

import difflib
from typing import Any

from martlake.errors import ConfigError
from martlake.sources.base import Batch, Cursor, ExtractContext, Source, build_table
from martlake.sources.fairing import FairingSource
from martlake.sources.google_ads import GoogleAdsSource
from martlake.sources.meta_ads import MetaAdsSource
from martlake.sources.shopify import ShopifySource
from martlake.sources.tiktok_ads import TikTokAdsSource

SOURCES: dict[str, type[Source]] = {
    "fairing": FairingSource,
    "google_ads": GoogleAdsSource,
    "meta_ads": MetaAdsSource,
    "shopify": ShopifySource,
    "tiktok_ads": TikTokAdsSource,
}


def source_class(name: str) -> type[Source]:
    """Look a connector up by name.

    Raises:
        ConfigError: No such source (with a "did you mean" hint).
    """
    try:
        return SOURCES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(SOURCES), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known: {', '.join(sorted(SOURCES))}"
        raise ConfigError(f"unknown source `{name}`: {hint}") from None


def build_source(name: str, settings: Any, **http: Any) -> Source:
    """Instantiate the connector `name` with its settings section.

    `http` goes to the source's `HttpClient`; its `timeout` and `max_attempts` default to the
    section's `timeout_seconds` and `max_attempts`.
    """
    cls: Any = source_class(name)
    timeout = getattr(settings, "timeout_seconds", None)
    if timeout is not None:
        http.setdefault("timeout", timeout)
    attempts = getattr(settings, "max_attempts", None)
    if attempts is not None:
        http.setdefault("max_attempts", attempts)
    source: Source = cls(settings, **http)
    return source


__all__ = [
    "SOURCES",
    "Batch",
    "Cursor",
    "ExtractContext",
    "FairingSource",
    "GoogleAdsSource",
    "MetaAdsSource",
    "ShopifySource",
    "Source",
    "TikTokAdsSource",
    "build_source",
    "build_table",
    "source_class",
]
