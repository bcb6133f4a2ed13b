"""Campaign stats by day through `googleAds:searchStream`, re-reading a lookback window."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from martlake.config import SECRETS_FILE, GoogleAdsSettings, redact, register_secret
from martlake.errors import (
    AuthError,
    MartlakeError,
    RateLimitError,
    SourceContractError,
    SourceError,
)
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
from martlake.sources.google_ads._schema import SCHEMAS

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/adwords"
WINDOW_DAYS = 31
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone "
    "FROM customer"
)
CAMPAIGN_FIELDS = (
    "customer.id",
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "campaign.advertising_channel_type",
    "segments.date",
    "metrics.cost_micros",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.conversions",
    "metrics.conversions_value",
)
_CENT = Decimal("0.01")
_MICROS = Decimal(1_000_000)
_TOKEN_MARGIN = 60.0
_CUSTOMER_ERRORS = {
    "USER_PERMISSION_DENIED",
    "CUSTOMER_NOT_ENABLED",
    "CLIENT_CUSTOMER_ID_INVALID",
    "LOGIN_CUSTOMER_ID_INVALID",
    "CUSTOMER_NOT_FOUND",
}
_DEVELOPER_TOKEN_ERRORS = {
    "DEVELOPER_TOKEN_NOT_APPROVED",
    "DEVELOPER_TOKEN_NOT_ON_ALLOWLIST",
    "DEVELOPER_TOKEN_PROHIBITED",
    "DEVELOPER_TOKEN_INVALID",
    "DEVELOPER_TOKEN_PARAMETER_MISSING",
}


class GoogleAdsSource(Source):
    """Google Ads campaigns, one row per campaign and day, in each customer's timezone.

    Authenticates with an OAuth refresh token (exchanged for an access token at `token_url`)
    plus a developer token; cost comes as micros and is stored in currency units.
    """

    name = "google_ads"
    schemas = SCHEMAS
    cursor = Cursor(table="campaign_stats", account_column="customer_id", column="date")

    def __init__(self, settings: GoogleAdsSettings, **http: Any) -> None:
        self.settings = settings
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._token_url = settings.token_url or DEFAULT_TOKEN_URL
        # Sent per request, so the OAuth endpoint never sees the developer token.
        self._headers = {"developer-token": _secret(settings.developer_token)}
        if settings.login_customer_id:
            self._headers["login-customer-id"] = settings.login_customer_id
        self._http = HttpClient(
            "google_ads", f"{base}/{settings.api_version}", map_error=_map_error, **http
        )
        self._access_token: str | None = None
        self._expires_at = 0.0

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        for customer in self.settings.customer_ids:
            self._customer(customer)

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        for customer in self.settings.customer_ids:
            info = self._customer(customer)
            tz = info.get("timeZone") or "UTC"
            until = ctx.end_date or datetime.now(ZoneInfo(tz)).date()
            s = self.settings
            since = first_day(ctx, customer, s.lookback_days, s.start_date, until)
            for window, stop in date_windows(since, until, WINDOW_DAYS):
                rows = self._search(customer, _campaign_query(window, stop))
                if rows:
                    yield Batch("campaign_stats", self._table(rows, customer, info, ctx))
                yield Batch(
                    "extract_windows",
                    window_table("google_ads", customer, window, stop, ctx.run_id),
                )

    def _customer(self, customer: str) -> dict[str, Any]:
        rows = self._search(customer, CUSTOMER_QUERY)
        info = rows[0].get("customer") if rows else None
        if not isinstance(info, dict) or "currencyCode" not in info:
            raise SourceContractError(
                f"google_ads: customer `{customer}` answered without a currency code: check "
                "api_version in martlake.toml"
            )
        return info

    def _search(self, customer: str, query: str) -> list[dict[str, Any]]:
        body = self._http.post_json(
            f"/customers/{customer}/googleAds:searchStream",
            json={"query": query},
            headers={**self._headers, "Authorization": f"Bearer {self._token()}"},
            check=_stream_error,
        )
        if not isinstance(body, list):
            raise SourceContractError(
                f"google_ads: searchStream for customer `{customer}` is not a JSON array: check "
                "api_version in martlake.toml"
            )
        rows: list[dict[str, Any]] = []
        for batch in body:
            rows.extend((batch or {}).get("results") or [])
        return rows

    def _token(self) -> str:
        if self._access_token is not None and time.monotonic() < self._expires_at:
            return self._access_token
        s = self.settings
        body = self._http.post_json(
            self._token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": s.client_id or "",
                "client_secret": _secret(s.client_secret),
                "refresh_token": _secret(s.refresh_token),
            },
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceContractError(
                f"google_ads: the token endpoint `{redact(self._token_url)}` answered without an "
                "access_token: check `sources.google_ads.token_url`"
            )
        register_secret(token)
        self._access_token = token
        lifetime = float(body.get("expires_in") or 3600)
        self._expires_at = time.monotonic() + max(0.0, lifetime - _TOKEN_MARGIN)
        return token

    def _table(
        self,
        rows: list[dict[str, Any]],
        customer: str,
        info: dict[str, Any],
        ctx: ExtractContext,
    ) -> Any:
        cols: dict[str, list[Any]] = defaultdict(list)
        try:
            for row in rows:
                campaign = row["campaign"]
                metrics = row.get("metrics") or {}
                cols["customer_id"].append(str((row.get("customer") or {}).get("id") or customer))
                cols["customer_name"].append(info.get("descriptiveName"))
                cols["currency_code"].append(info["currencyCode"])
                cols["time_zone"].append(info.get("timeZone"))
                cols["date"].append(row["segments"]["date"])
                cols["campaign_id"].append(str(campaign["id"]))
                cols["campaign_name"].append(campaign.get("name"))
                cols["campaign_status"].append(campaign.get("status"))
                cols["channel_type"].append(campaign.get("advertisingChannelType"))
                cols["cost"].append(micros_to_money(metrics.get("costMicros")))
                # int64 metrics arrive as JSON strings (proto3 JSON mapping); zeros are omitted.
                cols["impressions"].append(int(metrics.get("impressions") or 0))
                cols["clicks"].append(int(metrics.get("clicks") or 0))
                cols["conversions"].append(float(metrics.get("conversions") or 0))
                cols["conversions_value"].append(float(metrics.get("conversionsValue") or 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceContractError(
                f"google_ads: a campaign row of customer `{customer}` is missing or mistypes "
                f"`{exc}`: check api_version"
            ) from None
        return build_table(
            "google_ads",
            "campaign_stats",
            SCHEMAS["campaign_stats"],
            cols,
            ctx.run_id,
            datetime.now(UTC),
        )


def micros_to_money(micros: Any) -> str:
    """Micros (an int64, often a JSON string) to currency units with 2 decimals, half-even.

    >>> micros_to_money("1234565000"), micros_to_money("1234575000"), micros_to_money(None)
    ('1234.56', '1234.58', '0.00')
    """
    value = Decimal(int(micros or 0)) / _MICROS
    return str(value.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _campaign_query(since: date, until: date) -> str:
    return (
        f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM campaign "
        f"WHERE segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"
    )


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value is not None else ""


def _stream_error(body: Any) -> MartlakeError | None:
    # Google Ads API REST reference, GoogleAdsService.SearchStream: the body is a JSON array of
    # SearchGoogleAdsStreamResponse batches (a batch may have no `results`); a stream that fails
    # after it started ends with an element holding the `error` status instead.
    if isinstance(body, list):
        for batch in body:
            if isinstance(batch, dict) and isinstance(batch.get("error"), dict):
                return _api_error(batch["error"], 200)
    return None


def _map_error(response: httpx.Response) -> MartlakeError | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):
        if response.status_code >= 500:
            return None  # the generic mapping retries it
        return _oauth_error(error, str(body.get("error_description") or ""))
    if isinstance(error, dict):
        return _api_error(error, response.status_code)
    return None


def _oauth_error(error: str, description: str) -> MartlakeError:
    # Google OAuth 2.0 token endpoint (RFC 6749 §5.2): 400/401 with `error` as a string.
    detail = f"{error}: {redact(description)[:160]}".rstrip(": ")
    if error == "invalid_client" or error == "unauthorized_client":
        return AuthError(
            f"google_ads: the OAuth client was rejected ({detail}): check "
            f"`sources.google_ads.client_id` and `client_secret` (in {SECRETS_FILE}) against the "
            "Google Cloud project that issued the refresh token"
        )
    if error in ("invalid_grant", "invalid_scope", "access_denied"):
        return AuthError(
            f"google_ads: the refresh token was rejected ({detail}): authorize again with the "
            f"`{SCOPE}` scope and set `sources.google_ads.refresh_token` in {SECRETS_FILE}"
        )
    return SourceContractError(
        f"google_ads: the token endpoint refused the request ({detail}): check "
        "`sources.google_ads.token_url`"
    )


def _api_error(error: dict[str, Any], status_code: int) -> MartlakeError:
    # Google Ads API guide "Understand API errors": a google.rpc.Status whose `details` hold a
    # GoogleAdsFailure with `errors[].errorCode` such as {"authorizationError": "…"}.
    status = str(error.get("status") or "")
    codes = _error_codes(error)
    message = redact(str(error.get("message") or ""))[:160]
    named = ", ".join(f"{k}={v}" for k, v in codes.items()) or status or str(status_code)
    detail = f"{named}: {message}"
    auth = codes.get("authorizationError")
    authn = codes.get("authenticationError", "")
    # Up to v18 a refused developer token is AuthorizationError DEVELOPER_TOKEN_NOT_APPROVED
    # (403); from v19 it is AuthenticationError DEVELOPER_TOKEN_INVALID (401).
    if auth in _DEVELOPER_TOKEN_ERRORS or authn.startswith("DEVELOPER_TOKEN"):
        return AuthError(
            f"google_ads: the developer token was refused ({detail}): apply for Basic access in "
            "the API Center of your manager account and set `sources.google_ads.developer_token` "
            f"in {SECRETS_FILE}"
        )
    if auth in _CUSTOMER_ERRORS or authn in _CUSTOMER_ERRORS:
        return AuthError(
            f"google_ads: the Google account of the refresh token cannot read this customer "
            f"({detail}): grant it access to the customer, or set "
            "`sources.google_ads.login_customer_id` to the manager account, and check "
            "`sources.google_ads.customer_ids`"
        )
    if status == "UNAUTHENTICATED" or status_code == 401 or authn:
        return AuthError(
            f"google_ads: the access token was rejected ({detail}): authorize again with the "
            f"`{SCOPE}` scope and set `sources.google_ads.refresh_token` in {SECRETS_FILE}"
        )
    if status == "PERMISSION_DENIED" or status_code == 403 or auth is not None:
        return AuthError(
            f"google_ads: permission denied ({detail}): the refresh token needs the `{SCOPE}` "
            "scope and an approved `sources.google_ads.developer_token`"
        )
    if status == "RESOURCE_EXHAUSTED" or status_code == 429 or "quotaError" in codes:
        return RateLimitError(
            f"google_ads: rate limited ({detail})", retry_after=_retry_delay(error)
        )
    if status == "INVALID_ARGUMENT" or "queryError" in codes:
        return SourceContractError(
            f"google_ads: the API refused the query ({detail}): check api_version in martlake.toml"
        )
    transient = status_code >= 500 or status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED")
    failure = SourceError(f"google_ads: the API failed ({detail})")
    failure.retryable = transient
    return failure


def _error_codes(error: dict[str, Any]) -> dict[str, str]:
    codes: dict[str, str] = {}
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        for item in detail.get("errors") or []:
            code = item.get("errorCode") if isinstance(item, dict) else None
            if isinstance(code, dict):
                codes.update({str(k): str(v) for k, v in code.items()})
    return codes


def _retry_delay(error: dict[str, Any]) -> float | None:
    for detail in error.get("details") or []:
        for item in (detail or {}).get("errors") or []:
            delay = (
                ((item or {}).get("details") or {}).get("quotaErrorDetails", {}).get("retryDelay")
            )
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return float(delay[:-1])
                except ValueError:
                    return None
    return None
