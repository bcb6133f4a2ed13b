"""Helpers of the connector contract tests: recorded requests, one extraction's tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pyarrow as pa
from pydantic import SecretStr

from martlake.config import GoogleAdsSettings, MetaAdsSettings, ShopifySettings, TikTokAdsSettings
from martlake.sandbox import (
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    SANDBOX_TIKTOK_TOKEN,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sources import ExtractContext, Source


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps every request (headers included) and can run a hook first."""

    def __init__(self, before: Callable[[httpx.Request], Any] | None = None) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.before = before

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(request)
        return super().handle_request(request)


def collect(source: Source, **ctx: Any) -> dict[str, pa.Table]:
    """Every batch of one extraction (`ExtractContext(**ctx)`, run id `run` by default),
    concatenated per raw table."""
    ctx.setdefault("run_id", "run")
    parts: dict[str, list[pa.Table]] = {}
    for batch in source.extract(ExtractContext(**ctx)):
        parts.setdefault(batch.table, []).append(batch.data)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def sandbox_settings(api: str, server: EmulatorServer, config: SimulatorConfig, **kw: Any) -> Any:
    """The settings section of `api`'s source, pointed at `server`."""
    if api == "shopify":
        return ShopifySettings(
            shop=config.shop_domain,
            access_token=SecretStr(SANDBOX_SHOPIFY_TOKEN),
            base_url=server.shopify_base_url,
            **kw,
        )
    if api == "meta":
        return MetaAdsSettings(
            account_ids=[config.meta_account_id],
            access_token=SecretStr(SANDBOX_META_TOKEN),
            base_url=server.meta_base_url,
            start_date=config.start_date,
            **kw,
        )
    if api == "google":
        return GoogleAdsSettings(
            customer_ids=[config.google_customer_id],
            developer_token=SecretStr(SANDBOX_GOOGLE_DEVELOPER_TOKEN),
            client_id=SANDBOX_GOOGLE_CLIENT_ID,
            client_secret=SecretStr(SANDBOX_GOOGLE_CLIENT_SECRET),
            refresh_token=SecretStr(SANDBOX_GOOGLE_REFRESH_TOKEN),
            base_url=server.google_base_url,
            token_url=f"{server.google_base_url}/token",
            start_date=config.start_date,
            **kw,
        )
    return TikTokAdsSettings(
        advertiser_ids=[config.tiktok_advertiser_id],
        access_token=SecretStr(SANDBOX_TIKTOK_TOKEN),
        base_url=server.tiktok_base_url,
        start_date=config.start_date,
        **kw,
    )
