"""Campaign, ad group and ad stats by day through `googleAds:searchStream`, re-reading a
lookback window."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
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
    Account,
    Batch,
    Cursor,
    DayTotal,
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
Kind = Literal["id", "text", "date", "int", "double"]


@dataclass(frozen=True)
class Stream:
    """One raw table read with GAQL: `(column, GAQL field, kind, required)` per column."""

    table: str
    resource: str
    columns: tuple[tuple[str, str, Kind, bool], ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return ("customer.id", *(name for _, name, _, _ in self.columns))


_METRICS: tuple[tuple[str, str, Kind, bool], ...] = (
    ("impressions", "metrics.impressions", "int", True),
    ("clicks", "metrics.clicks", "int", True),
    ("conversions", "metrics.conversions", "double", True),
    ("conversions_value", "metrics.conversions_value", "double", True),
)
_DATE: tuple[str, str, Kind, bool] = ("date", "segments.date", "date", True)
_CAMPAIGN: tuple[tuple[str, str, Kind, bool], ...] = (
    ("campaign_id", "campaign.id", "id", True),
    ("campaign_name", "campaign.name", "text", False),
)
_AD_GROUP: tuple[tuple[str, str, Kind, bool], ...] = (
    ("ad_group_id", "ad_group.id", "id", True),
    ("ad_group_name", "ad_group.name", "text", False),
)
STREAMS = (
    Stream(
        "campaign_stats",
        "campaign",
        (
            *_CAMPAIGN,
            ("campaign_status", "campaign.status", "text", False),
            ("channel_type", "campaign.advertising_channel_type", "text", False),
            _DATE,
            ("cost_micros", "metrics.cost_micros", "int", True),
            *_METRICS,
        ),
    ),
    # Performance Max campaigns have no ad groups: they are in campaign_stats only.
    Stream(
        "ad_group_stats",
        "ad_group",
        (
            *_CAMPAIGN,
            *_AD_GROUP,
            ("ad_group_status", "ad_group.status", "text", False),
            ("ad_group_type", "ad_group.type", "text", False),
            _DATE,
            ("cost_micros", "metrics.cost_micros", "int", True),
            *_METRICS,
        ),
    ),
    Stream(
        "ad_stats",
        "ad_group_ad",
        (
            *_CAMPAIGN,
            *_AD_GROUP,
            ("ad_id", "ad_group_ad.ad.id", "id", True),
            # Responsive search and shopping ads have no name; Google leaves it out.
            ("ad_name", "ad_group_ad.ad.name", "text", False),
            ("ad_type", "ad_group_ad.ad.type", "text", False),
            ("ad_status", "ad_group_ad.status", "text", False),
            _DATE,
            ("cost_micros", "metrics.cost_micros", "int", True),
            *_METRICS,
        ),
    ),
)
CAMPAIGN_FIELDS = STREAMS[0].fields
_MISSING = object()
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
    """Google Ads stats per day in each customer's timezone: campaigns, ad groups and ads.

    Authenticates with an OAuth refresh token (exchanged for an access token at `token_url`,
    and once more when Google refuses it mid-run) plus a developer token. Cost stays in micros
    (`cost_micros`) at every level, as Google sends it, so ads add up to their campaign exactly;
    staging rounds it to the cent once per campaign-day.
    Performance Max campaigns have no ad groups, so they are in `campaign_stats` only.
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
        self._warned: set[str] = set()

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        for customer in self.settings.customer_ids:
            self._customer(customer)

    def reconciliation_accounts(self) -> list[Account]:
        """Each configured customer with its timezone and currency."""
        out = []
        for customer in self.settings.customer_ids:
            info = self._customer(customer)
            out.append(Account(customer, info.get("timeZone") or "UTC", info["currencyCode"]))
        return out

    def reconciliation_totals(self, account: Account, since: date, until: date) -> list[DayTotal]:
        """Customer-level cost per day (`FROM customer`), in the customer's timezone and
        currency, unrounded; days without activity are left out, as Google does."""
        rows = self._search(
            account.id,
            "SELECT segments.date, metrics.cost_micros FROM customer "
            f"WHERE segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'",
        )
        return [self._total(account, row, None) for row in rows]

    def campaign_totals(self, account: Account, day: date) -> list[DayTotal]:
        """Cost per campaign on one day, for the reconciliation drill-down."""
        rows = self._search(
            account.id,
            "SELECT campaign.id, metrics.cost_micros FROM campaign "
            f"WHERE segments.date = '{day.isoformat()}'",
        )
        return [self._total(account, row, day) for row in rows]

    @staticmethod
    def _total(account: Account, row: dict[str, Any], day: date | None) -> DayTotal:
        try:
            metrics = row.get("metrics") or {}
            micros = metrics.get("costMicros", metrics.get("costAmountMicros"))
            cost = (
                Decimal(0)
                if micros in (None, "-")
                else Decimal(int(Decimal(str(micros)))).scaleb(-6)
            )
            when = day or date.fromisoformat(row["segments"]["date"])
            campaign = None if day is None else str(row["campaign"]["id"])
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise SourceContractError(
                f"google_ads: a cost row of customer `{account.id}` has no valid date, campaign "
                "or `costMicros`: check api_version in martlake.toml"
            ) from None
        return DayTotal(account.id, when, "spend", cost, campaign)

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        self._warned = set()
        for customer in self.settings.customer_ids:
            info = self._customer(customer)
            tz = info.get("timeZone") or "UTC"
            until = ctx.end_date or datetime.now(ZoneInfo(tz)).date()
            s = self.settings
            since = first_day(ctx, customer, s.lookback_days, s.start_date, until)
            for window, stop in date_windows(since, until, WINDOW_DAYS):
                # One window row covers every stream, so it follows the last of them.
                for stream in STREAMS:
                    rows = self._search(customer, _query(stream, window, stop))
                    if rows:
                        yield Batch(stream.table, self._table(stream, rows, customer, info, ctx))
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
        try:
            body = self._stream(customer, query)
        except _AccessTokenRejectedError:
            # Access tokens live an hour and Google may end one early: refresh once and retry;
            # a second refusal is a real AuthError.
            logger.info("google_ads: the access token was refused mid-run; refreshing it")
            self._access_token = None
            try:
                body = self._stream(customer, query)
            except _AccessTokenRejectedError as exc:
                raise AuthError(str(exc)) from None
        if not isinstance(body, list):
            raise SourceContractError(
                f"google_ads: searchStream for customer `{customer}` is not a JSON array: check "
                "api_version in martlake.toml"
            )
        rows: list[dict[str, Any]] = []
        for batch in body:
            rows.extend((batch or {}).get("results") or [])
        return rows

    def _stream(self, customer: str, query: str) -> Any:
        return self._http.post_json(
            f"/customers/{customer}/googleAds:searchStream",
            json={"query": query},
            headers={**self._headers, "Authorization": f"Bearer {self._token()}"},
            check=_stream_error,
        )

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
        stream: Stream,
        rows: list[dict[str, Any]],
        customer: str,
        info: dict[str, Any],
        ctx: ExtractContext,
    ) -> Any:
        table = stream.table
        paths = [
            (column, _path(name), kind, required) for column, name, kind, required in stream.columns
        ]
        expected = _expected(stream.fields)
        cols: dict[str, list[Any]] = defaultdict(list)
        unknown: set[str] = set()
        for row in rows:
            seen = _unknown(row, expected)
            unknown |= seen
            cols["customer_id"].append(str((row.get("customer") or {}).get("id") or customer))
            cols["customer_name"].append(info.get("descriptiveName"))
            cols["currency_code"].append(info["currencyCode"])
            cols["time_zone"].append(info.get("timeZone"))
            for column, path, kind, required in paths:
                value = _at(row, path)
                if value is _MISSING:
                    if required:
                        raise _missing(table, customer, path, seen)
                    value = None
                try:
                    cols[column].append(_convert(kind, value))
                except (TypeError, ValueError, InvalidOperation):
                    raise SourceContractError(
                        f"google_ads: `{'.'.join(path)}` of a `{table}` row of customer "
                        f"`{customer}` is `{value!r:.40}`, not a {kind}: the API changed its "
                        "payload; check api_version in martlake.toml or report it"
                    ) from None
        if unknown and table not in self._warned:
            self._warned.add(table)
            logger.warning(
                "google_ads: `%s` rows carry fields martlake does not read, ignored: %s",
                table,
                ", ".join(f"`{name}`" for name in sorted(unknown)),
            )
        return build_table("google_ads", table, SCHEMAS[table], cols, ctx.run_id, datetime.now(UTC))


def _query(stream: Stream, since: date, until: date) -> str:
    return (
        f"SELECT {', '.join(stream.fields)} FROM {stream.resource} "
        f"WHERE segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"
    )


def _path(field: str) -> tuple[str, ...]:
    """A GAQL field to its JSON path: `ad_group_ad.ad.id` is `adGroupAd.ad.id`."""
    return tuple(
        part.split("_")[0] + "".join(w.title() for w in part.split("_")[1:])
        for part in field.split(".")
    )


def _expected(fields: tuple[str, ...]) -> frozenset[str]:
    # What a row may hold: the selected fields and the resourceName of each message.
    out: set[str] = set()
    for name in fields:
        path = _path(name)
        out.add(".".join(path))
        for i in range(1, len(path)):
            out.add(".".join((*path[:i], "resourceName")))
    return frozenset(out)


def _unknown(value: Any, expected: frozenset[str], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out |= _unknown(item, expected, f"{name}.")
        elif name not in expected:
            out.add(name)
    return out


def _at(row: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _convert(kind: Kind, value: Any) -> Any:
    # proto3 JSON sends int64 as strings and doubles as numbers; accept either, and "-" (or
    # null) as no value rather than zero.
    if value is None or value == "-":
        return None
    if kind == "id":
        return str(value)
    if kind == "text" or kind == "date":
        return value if isinstance(value, str) else str(value)
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value) if isinstance(value, int) else int(Decimal(str(value)))
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def _missing(
    table: str, customer: str, path: tuple[str, ...], unknown: set[str]
) -> SourceContractError:
    seen = ", ".join(f"`{name}`" for name in sorted(unknown)) or "none"
    return SourceContractError(
        f"google_ads: `{table}` rows of customer `{customer}` lack the required field "
        f"`{'.'.join(path)}` (unknown fields seen: {seen}): the API changed its payload; check "
        "api_version in martlake.toml or report it"
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
        refused = _AccessTokenRejectedError if not authn and auth is None else AuthError
        return refused(
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


class _AccessTokenRejectedError(AuthError):
    """The OAuth access token (not the developer token or a customer) was refused."""


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
