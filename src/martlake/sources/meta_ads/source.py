"""Ad-level daily insights, re-reading a lookback window because Meta restates conversions."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from martlake.config import MetaAdsSettings, redact
from martlake.errors import AuthError, MartlakeError, RateLimitError, SourceContractError
from martlake.sources._http import HttpClient
from martlake.sources.base import (
    Batch,
    Cursor,
    ExtractContext,
    Source,
    build_table,
    date_windows,
    first_day,
    window_table,
)
from martlake.sources.meta_ads._schema import SCHEMAS

logger = logging.getLogger(__name__)

FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "actions",
    "action_values",
)
# Pixel purchases when the account reports them, else the generic `purchase` action; never both,
# since Meta reports the same conversion under both types.
PURCHASE_ACTIONS = ("offsite_conversion.fb_pixel_purchase", "purchase", "omni_purchase")
WINDOW_DAYS = 31
# https://developers.facebook.com/docs/graph-api/guides/error-handling
_AUTH_CODES = {190, 102, 200, 10, 272}
_THROTTLE_CODES = {4, 17, 32, 613, 80000, 80003, 80004}


class MetaAdsSource(Source):
    """Meta ad insights at ad level, one row per ad and day, in each account's timezone."""

    name = "meta_ads"
    schemas = SCHEMAS
    cursor = Cursor(table="insights", account_column="account_id", column="date_start")

    def __init__(self, settings: MetaAdsSettings, **http: Any) -> None:
        self.settings = settings
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        base = (settings.base_url or "https://graph.facebook.com").rstrip("/")
        self._http = HttpClient(
            "meta_ads",
            f"{base}/{settings.api_version}",
            headers={"Authorization": f"Bearer {token}"},
            map_error=_map_error,
            **http,
        )

    @property
    def account_ids(self) -> list[str]:
        """Configured accounts, without the `act_` prefix."""
        return [a.removeprefix("act_") for a in self.settings.account_ids]

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        for account in self.account_ids:
            self._account(account)

    def _account(self, account: str) -> dict[str, Any]:
        body = self._http.get_json(
            f"/act_{account}", params={"fields": "name,currency,timezone_name"}
        )
        if not isinstance(body, dict) or "currency" not in body:
            raise SourceContractError(
                f"meta_ads: account `act_{account}` answered without a currency: check api_version"
            )
        return body

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        for account in self.account_ids:
            info = self._account(account)
            tz = info.get("timezone_name") or "UTC"
            until = ctx.end_date or datetime.now(ZoneInfo(tz)).date()
            s = self.settings
            since = first_day(ctx, account, s.lookback_days, s.start_date, until)
            for window, stop in date_windows(since, until, WINDOW_DAYS):
                yield from self._window(account, info, tz, window, stop, ctx)

    def _window(
        self,
        account: str,
        info: dict[str, Any],
        tz: str,
        since: date,
        until: date,
        ctx: ExtractContext,
    ) -> Iterator[Batch]:
        params: dict[str, Any] | None = {
            "level": "ad",
            "time_increment": 1,
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            "fields": ",".join(FIELDS),
            "limit": self.settings.page_size,
        }
        url: str | None = f"/act_{account}/insights"
        while url is not None:
            body = self._http.get_json(url, params=params)
            rows = body.get("data") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise SourceContractError(
                    f"meta_ads: insights for `act_{account}` have no `data` list: check api_version"
                )
            if rows:
                yield Batch("insights", self._table(rows, account, info, tz, ctx))
            url = (body.get("paging") or {}).get("next")
            params = None
        yield Batch("extract_windows", window_table("meta_ads", account, since, until, ctx.run_id))

    def _table(
        self,
        rows: list[dict[str, Any]],
        account: str,
        info: dict[str, Any],
        tz: str,
        ctx: ExtractContext,
    ) -> Any:
        cols: dict[str, list[Any]] = defaultdict(list)
        try:
            for row in rows:
                cols["account_id"].append(str(row.get("account_id") or account))
                cols["account_name"].append(row.get("account_name") or info.get("name"))
                cols["account_currency"].append(row.get("account_currency") or info["currency"])
                cols["account_timezone"].append(tz)
                cols["date_start"].append(row["date_start"])
                cols["date_stop"].append(row.get("date_stop") or row["date_start"])
                for col in ("campaign_id", "campaign_name", "adset_id", "adset_name"):
                    cols[col].append(row.get(col))
                cols["ad_id"].append(row["ad_id"])
                cols["ad_name"].append(row.get("ad_name"))
                cols["spend"].append(_number(row.get("spend")) or "0")
                cols["impressions"].append(int(_number(row.get("impressions")) or 0))
                cols["clicks"].append(int(_number(row.get("clicks")) or 0))
                actions = row.get("actions")
                purchases = _purchase(actions)
                cols["purchases"].append(int(float(purchases)) if purchases else 0)
                cols["purchase_value"].append(_purchase(row.get("action_values")) or "0")
                cols["actions_json"].append(json.dumps(actions) if actions else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceContractError(
                f"meta_ads: an insights row of `act_{account}` is missing or mistypes `{exc}`: "
                "check api_version"
            ) from None
        return build_table(
            "meta_ads", "insights", SCHEMAS["insights"], cols, ctx.run_id, datetime.now(UTC)
        )


def _number(value: Any) -> str | None:
    if value is None or value in ("", "-"):
        return None
    return str(value)


def _purchase(actions: Any) -> str | None:
    if not actions:
        return None
    by_type = {a.get("action_type"): a.get("value") for a in actions if isinstance(a, dict)}
    for action_type in PURCHASE_ACTIONS:
        if action_type in by_type:
            return _number(by_type[action_type])
    return None


def _regain_seconds(response: httpx.Response) -> float | None:
    """Wait Meta announces in `x-business-use-case-usage` (minutes), or None for backoff.

    See Meta's "Rate Limiting" guide: the header maps each business id to a list of usages,
    each with `estimated_time_to_regain_access` in minutes.
    """
    raw = response.headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = max(
            float(entry.get("estimated_time_to_regain_access") or 0)
            for entries in usage.values()
            for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60 if minutes > 0 else None


def _map_error(response: httpx.Response) -> MartlakeError | None:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    code = error.get("code")
    message = redact(str(error.get("message", "")))[:160]
    if code in _AUTH_CODES or response.status_code in (401, 403):
        return AuthError(
            f"meta_ads: the token was rejected or lacks `ads_read` (code {code}: {message}): "
            "create a system-user token with ads_read and set `sources.meta_ads.access_token` "
            "in .martlake/secrets.toml"
        )
    if code in _THROTTLE_CODES or response.status_code == 429:
        return RateLimitError(
            f"meta_ads: throttled (code {code}: {message})", retry_after=_regain_seconds(response)
        )
    if code == 100:
        return SourceContractError(
            f"meta_ads: the API refused the request (code 100: {message}): check "
            "`sources.meta_ads.account_ids` and api_version in martlake.toml"
        )
    return None
