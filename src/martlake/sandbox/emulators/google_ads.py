"""Google Ads API (REST, v17-v21) emulator: OAuth token endpoint and `googleAds:searchStream`.

Checked against Google's reference pages "Method: customers.googleAds.searchStream" (REST) and
"SearchGoogleAdsStreamResponse", the guide "Understand API errors", the enum references
"AuthorizationError", "AuthenticationError" and "QueryError", and the Google Ads developer blog
post of 2025-03-31 on invalid developer tokens:

- The body of searchStream is a JSON array of response batches, each with `results` (rows, left
  out when there are none), a comma-separated camelCase `fieldMask` and a `requestId`. Rows are
  `GoogleAdsRow`s in proto3 JSON: camelCase names, int64 values (ids, `costMicros`,
  `impressions`, `clicks`) as strings, doubles (`conversions`, `conversionsValue`) as numbers,
  enums as their names, and the `resourceName` of every resource that has a selected field.
- A row exists only for a campaign × day that had activity; the sandbox keeps zero metrics of an
  existing row (fields are proto3 `optional`, so a set zero is sent).
- Selecting `segments.date` needs a finite date range in WHERE (QueryError
  EXPECTED_FILTERS_ON_DATE_RANGE); without `segments.date` metrics are summed over the range.
- Errors are a `google.rpc.Status` object: `{"error": {"code", "message", "status",
  "details": [GoogleAdsFailure with errors[].errorCode]}}`. A missing or unknown OAuth access
  token fails before the Ads backend: 401 UNAUTHENTICATED without details. A refused developer
  token is AuthorizationError DEVELOPER_TOKEN_NOT_APPROVED (403) up to v18; from v19 Google
  answers AuthenticationError DEVELOPER_TOKEN_INVALID (401), and the emulator does the same.
  A customer the user cannot read is AuthorizationError USER_PERMISSION_DENIED (403); bad GAQL
  is a QueryError (400 INVALID_ARGUMENT).
- The token endpoint follows OAuth 2.0 (RFC 6749 section 5): form fields in, `access_token`,
  `expires_in` (3599), `scope` and `token_type` out; `invalid_grant` (400) for a refresh token
  that is wrong, `invalid_client` (401) for a wrong client id or secret.

- Resources `ad_group` and `ad_group_ad` give rows per ad group (ad) × day. Performance Max
  campaigns have no ad groups (their ads live in asset groups), so they appear only in
  `FROM campaign`. Nested messages nest in JSON: `ad_group_ad.ad.id` is `adGroupAd.ad.id`.
- An access token lives `TOKEN_LIFETIME` seconds; `expire_tokens()` ends every issued one at
  once, so the next call answers 401 UNAUTHENTICATED until the client refreshes.

- `FROM customer` with metrics gives the account's totals: one row per day with
  `segments.date`, one row for the whole range without it.

GAQL is parsed for real over `customer`, `campaign`, `ad_group` and `ad_group_ad`, with the
fields in `RESOURCES`; WHERE takes `AND`-ed conditions with =, !=, <, <=, >, >=, IN, NOT IN,
BETWEEN and LIKE; ORDER BY and LIMIT work. `drift` (see `DRIFT_KINDS`) changes the payload the
way an API release would, to test connectors against it.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from martlake.sandbox import _catalog
from martlake.sandbox._render import google_ad_group_ad_json, google_ad_group_json
from martlake.sandbox.emulators._http import Request, Response, json_response
from martlake.sandbox.simulator import Business

SANDBOX_GOOGLE_CLIENT_ID = "sandbox-client-id"
SANDBOX_GOOGLE_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_GOOGLE_REFRESH_TOKEN = "sandbox-google-refresh-token"
SANDBOX_GOOGLE_DEVELOPER_TOKEN = "sandbox-dev-token"
SCOPE = "https://www.googleapis.com/auth/adwords"
VERSIONS = ("v17", "v18", "v19", "v20", "v21")
BATCH_SIZE = 10_000
TOKEN_LIFETIME = 3599

DRIFT_KINDS = frozenset({"new_field", "renamed_field", "numbers_as_strings", "dash_values"})
"""Payload changes `GoogleAdsApp.drift` can switch on (see the sandbox drift interface)."""
NEW_FIELD = "interactionRate"
"""The metric every row gains under `new_field` drift, unasked."""

# GAQL field -> (JSON path in the row, kind). Kinds: int (int64, a JSON string), double, text.
CUSTOMER_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "customer.id": (("customer", "id"), "int"),
    "customer.resource_name": (("customer", "resourceName"), "text"),
    "customer.descriptive_name": (("customer", "descriptiveName"), "text"),
    "customer.currency_code": (("customer", "currencyCode"), "text"),
    "customer.time_zone": (("customer", "timeZone"), "text"),
}
_CAMPAIGN_ATTRIBUTES: dict[str, tuple[tuple[str, ...], str]] = {
    "campaign.id": (("campaign", "id"), "int"),
    "campaign.resource_name": (("campaign", "resourceName"), "text"),
    "campaign.name": (("campaign", "name"), "text"),
    "campaign.status": (("campaign", "status"), "text"),
    "campaign.advertising_channel_type": (("campaign", "advertisingChannelType"), "text"),
}
_AD_GROUP_ATTRIBUTES: dict[str, tuple[tuple[str, ...], str]] = {
    "ad_group.id": (("adGroup", "id"), "int"),
    "ad_group.resource_name": (("adGroup", "resourceName"), "text"),
    "ad_group.name": (("adGroup", "name"), "text"),
    "ad_group.status": (("adGroup", "status"), "text"),
    "ad_group.type": (("adGroup", "type"), "text"),
    "ad_group.campaign": (("adGroup", "campaign"), "text"),
}
_AD_GROUP_AD_ATTRIBUTES: dict[str, tuple[tuple[str, ...], str]] = {
    "ad_group_ad.resource_name": (("adGroupAd", "resourceName"), "text"),
    "ad_group_ad.status": (("adGroupAd", "status"), "text"),
    "ad_group_ad.ad_group": (("adGroupAd", "adGroup"), "text"),
    "ad_group_ad.ad.id": (("adGroupAd", "ad", "id"), "int"),
    "ad_group_ad.ad.resource_name": (("adGroupAd", "ad", "resourceName"), "text"),
    "ad_group_ad.ad.name": (("adGroupAd", "ad", "name"), "text"),
    "ad_group_ad.ad.type": (("adGroupAd", "ad", "type"), "text"),
}
_SEGMENTS_AND_METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "segments.date": (("segments", "date"), "text"),
    "metrics.cost_micros": (("metrics", "costMicros"), "int"),
    "metrics.impressions": (("metrics", "impressions"), "int"),
    "metrics.clicks": (("metrics", "clicks"), "int"),
    "metrics.conversions": (("metrics", "conversions"), "double"),
    "metrics.conversions_value": (("metrics", "conversionsValue"), "double"),
}
CAMPAIGN_FIELDS = {**CUSTOMER_FIELDS, **_CAMPAIGN_ATTRIBUTES, **_SEGMENTS_AND_METRICS}
AD_GROUP_FIELDS = {**CAMPAIGN_FIELDS, **_AD_GROUP_ATTRIBUTES}
AD_GROUP_AD_FIELDS = {**AD_GROUP_FIELDS, **_AD_GROUP_AD_ATTRIBUTES}
ALL_FIELDS = AD_GROUP_AD_FIELDS
RESOURCES = {
    "customer": {**CUSTOMER_FIELDS, **_SEGMENTS_AND_METRICS},
    "campaign": CAMPAIGN_FIELDS,
    "ad_group": AD_GROUP_FIELDS,
    "ad_group_ad": AD_GROUP_AD_FIELDS,
}
# The resource's own id, which rows summed over a date range are grouped by.
_ENTITY_ID = {
    "customer": ("customer", "id"),
    "campaign": ("campaign", "id"),
    "ad_group": ("adGroup", "id"),
    "ad_group_ad": ("adGroupAd", "ad", "id"),
}

_ROUTE = re.compile(
    r"^/(?P<version>v\d+)/customers/(?P<customer>[^/]+)/googleAds:(?P<method>searchStream|search)$"
)
_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<resource>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?(?:\s+PARAMETERS\s+(?P<parameters>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^']*'|\"[^\"]*\")|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])"
    r"|(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[(),])|(?P<word>[A-Za-z_][\w.]*))"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _ApiError(Exception):
    def __init__(
        self, http: int, status: str, message: str, kind: str | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.http, self.status, self.message, self.kind, self.code = (
            http,
            status,
            message,
            kind,
            code,
        )


def _query_error(code: str, message: str) -> _ApiError:
    return _ApiError(400, "INVALID_ARGUMENT", message, "queryError", code)


@dataclass
class _Condition:
    field: str
    op: str
    values: list[Any]


@dataclass
class _Query:
    resource: str
    fields: list[str]
    conditions: list[_Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None


def _typed(kind: str, raw: Any) -> Any:
    if kind == "int":
        return int(raw)
    if kind == "double":
        return float(raw)
    return str(raw)


def _literal(token: tuple[str, str]) -> str | float:
    kind, text = token
    if kind == "string":
        return text[1:-1]
    if kind == "number":
        return float(text)
    if kind == "word":  # enum values may come unquoted
        return text
    raise _query_error("UNEXPECTED_INPUT", f"Error in query: unexpected input {text}.")


def parse_gaql(text: str) -> _Query:
    """Parse the GAQL subset the sandbox serves; raise a QueryError on anything else."""
    match = _QUERY.match(text)
    if match is None:
        if not re.search(r"\bFROM\b", text, re.IGNORECASE):
            raise _query_error("EXPECTED_FROM", "Error in query: expected FROM clause.")
        raise _query_error("UNEXPECTED_INPUT", "Error in query: unexpected input.")
    resource = match["resource"].lower()
    allowed = RESOURCES.get(resource)
    if allowed is None:
        raise _query_error(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            "Error in FROM clause: the martlake sandbox serves customer, campaign, ad_group "
            f"and ad_group_ad, not '{match['resource']}'.",
        )
    fields = [f.strip() for f in match["select"].split(",")]
    for name in fields:
        if not name:
            raise _query_error("UNEXPECTED_INPUT", "Error in SELECT clause: empty field.")
        if name not in ALL_FIELDS:
            raise _query_error(
                "UNRECOGNIZED_FIELD", f"Error in SELECT clause: unrecognized field '{name}'."
            )
        if name not in allowed:
            raise _query_error(
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                f"Error in SELECT clause: '{name}' cannot be selected FROM {resource} in the "
                "martlake sandbox.",
            )
    if len(set(fields)) != len(fields):
        raise _query_error("DUPLICATE_FIELDS_IN_SELECT_CLAUSE", "Duplicate fields in SELECT.")
    query = _Query(resource, fields)
    if match["where"]:
        query.conditions = _parse_where(match["where"], allowed)
    if match["order"]:
        for part in match["order"].split(","):
            words = part.split()
            if not words or len(words) > 2 or words[0] not in allowed:
                raise _query_error(
                    "INVALID_FIELD_IN_ORDER_BY_CLAUSE", f"Error in ORDER BY: '{part.strip()}'."
                )
            descending = len(words) == 2 and words[1].upper() == "DESC"
            if len(words) == 2 and words[1].upper() not in ("ASC", "DESC"):
                raise _query_error("UNEXPECTED_INPUT", f"Error in ORDER BY: '{part.strip()}'.")
            query.order.append((words[0], descending))
    if match["limit"]:
        query.limit = int(match["limit"])
    if "segments.date" in fields and not _bounded(query.conditions):
        raise _query_error(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Filters on segments.date must give a finite date range when segments.date is "
            "selected.",
        )
    return query


def _parse_where(text: str, allowed: dict[str, tuple[tuple[str, ...], str]]) -> list[_Condition]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _query_error(
                "UNEXPECTED_INPUT", f"Error in WHERE clause: unexpected input {text[position:]}."
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    conditions: list[_Condition] = []
    i = 0

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise _query_error("UNEXPECTED_END_OF_QUERY", "Error in WHERE clause: unexpected end.")
        i += 1
        return tokens[i - 1]

    def value_list() -> list[Any]:
        if take() != ("punct", "("):
            raise _query_error("EXPECTED_LIST", "Error in WHERE clause: expected a list.")
        values: list[Any] = []
        while True:
            values.append(_literal(take()))
            sep = take()
            if sep == ("punct", ")"):
                return values
            if sep != ("punct", ","):
                raise _query_error("UNEXPECTED_INPUT", "Error in WHERE clause: bad list.")

    while True:
        kind, name = take()
        if kind != "word" or "." not in name:
            raise _query_error("UNEXPECTED_INPUT", f"Error in WHERE clause: unexpected {name}.")
        if name not in allowed:
            raise _query_error(
                "UNRECOGNIZED_FIELD", f"Error in WHERE clause: unrecognized field '{name}'."
            )
        kind, op = take()
        upper = op.upper()
        if kind == "op":
            conditions.append(_Condition(name, op, [_literal(take())]))
        elif upper == "IN":
            conditions.append(_Condition(name, "IN", value_list()))
        elif upper == "NOT" and i < len(tokens) and tokens[i][1].upper() == "IN":
            i += 1
            conditions.append(_Condition(name, "NOT IN", value_list()))
        elif upper == "BETWEEN":
            low = _literal(take())
            if take()[1].upper() != "AND":
                raise _query_error(
                    "INVALID_VALUE_WITH_BETWEEN_OPERATOR", "BETWEEN needs two values."
                )
            conditions.append(_Condition(name, "BETWEEN", [low, _literal(take())]))
        elif upper == "LIKE":
            conditions.append(_Condition(name, "LIKE", [_literal(take())]))
        else:
            raise _query_error(
                "UNEXPECTED_INPUT", f"Error in WHERE clause: operator {op} is not emulated."
            )
        if i >= len(tokens):
            break
        if take()[1].upper() != "AND":
            raise _query_error(
                "UNEXPECTED_INPUT", "Error in WHERE clause: conditions are joined with AND."
            )
    for condition in conditions:
        if condition.field == "segments.date":
            for value in condition.values:
                if not isinstance(value, str) or not _DATE.match(value):
                    raise _query_error(
                        "INVALID_VALUE_WITH_BETWEEN_OPERATOR"
                        if condition.op == "BETWEEN"
                        else "BAD_VALUE_IN_WHERE_CLAUSE",
                        f"Error in WHERE clause: invalid date '{value}', use 'YYYY-MM-DD'.",
                    )
                try:
                    date.fromisoformat(value)
                except ValueError as exc:
                    raise _query_error(
                        "BAD_VALUE_IN_WHERE_CLAUSE", f"Error in WHERE clause: invalid date {value}."
                    ) from exc
    return conditions


def _bounded(conditions: list[_Condition]) -> bool:
    low = high = False
    for c in conditions:
        if c.field != "segments.date":
            continue
        low |= c.op in ("BETWEEN", "=", ">", ">=", "IN")
        high |= c.op in ("BETWEEN", "=", "<", "<=", "IN")
    return low and high


def _matches(value: Any, condition: _Condition, kind: str) -> bool:
    def typed(v: Any) -> Any:
        return _typed(kind, v) if kind != "text" else str(v)

    op, values = condition.op, [typed(v) for v in condition.values]
    if op == "=":
        return bool(value == values[0])
    if op == "!=":
        return bool(value != values[0])
    if op == ">":
        return bool(value > values[0])
    if op == ">=":
        return bool(value >= values[0])
    if op == "<":
        return bool(value < values[0])
    if op == "<=":
        return bool(value <= values[0])
    if op == "IN":
        return value in values
    if op == "NOT IN":
        return value not in values
    if op == "BETWEEN":
        return bool(values[0] <= value <= values[1])
    pattern = re.escape(str(values[0])).replace("%", ".*").replace("_", ".")
    return re.fullmatch(pattern, str(value), re.IGNORECASE) is not None


def _get(row: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _field(row: dict[str, Any], name: str) -> Any:
    path, kind = ALL_FIELDS[name]
    value = _get(row, path)
    if value is None:
        return "" if kind == "text" else 0
    return _typed(kind, value)


def _camel(name: str) -> str:
    return ".".join(ALL_FIELDS[name][0])


class GoogleAdsApp:
    """Serves one `Business`'s Google Ads customer and the OAuth token endpoint.

    Args:
        business: The simulated shop and its ad accounts.
        client_id: The only OAuth client id accepted.
        client_secret: The only OAuth client secret accepted.
        refresh_token: The only refresh token accepted.
        developer_token: The only developer token accepted.
    """

    def __init__(
        self,
        business: Business,
        *,
        client_id: str = SANDBOX_GOOGLE_CLIENT_ID,
        client_secret: str = SANDBOX_GOOGLE_CLIENT_SECRET,
        refresh_token: str = SANDBOX_GOOGLE_REFRESH_TOKEN,
        developer_token: str = SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    ) -> None:
        self.business = business
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.developer_token = developer_token
        self.access_tokens: set[str] = set()
        self.batch_size: int | None = None
        """Rows per stream batch; `BATCH_SIZE` (as Google) when None."""
        self.drift: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def expire_tokens(self) -> None:
        """End every access token issued so far, as when they outlive their hour mid-run."""
        with self._lock:
            self.access_tokens.clear()

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/google/...`."""
        if request.path.rstrip("/") == "/token":
            return self._token(request)
        match = _ROUTE.match(request.path)
        request_id = f"sbx{next(self._counter):013d}"
        if match is None or match["version"] not in VERSIONS or request.method != "POST":
            return json_response(
                404,
                {
                    "error": {
                        "code": 404,
                        "message": f"The requested URL {request.path} was not found on this "
                        "server. The sandbox serves POST /vNN/customers/<id>/googleAds:"
                        f"searchStream for {', '.join(VERSIONS)}.",
                        "status": "NOT_FOUND",
                    }
                },
            )
        version = match["version"]
        try:
            self._authorize(request, version, match["customer"])
            if match["method"] == "search":
                raise _ApiError(
                    501,
                    "UNIMPLEMENTED",
                    "The martlake sandbox emulates googleAds:searchStream only.",
                )
            return self._search_stream(request, version, request_id)
        except _ApiError as exc:
            error: dict[str, Any] = {"code": exc.http, "message": exc.message, "status": exc.status}
            if exc.kind is not None:
                error["message"] = {
                    400: "Request contains an invalid argument.",
                    401: "Request had invalid authentication credentials.",
                    403: "The caller does not have permission",
                }.get(exc.http, exc.message)
                error["details"] = [
                    {
                        "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors."
                        "GoogleAdsFailure",
                        "errors": [{"errorCode": {exc.kind: exc.code}, "message": exc.message}],
                        "requestId": request_id,
                    }
                ]
            return json_response(exc.http, {"error": error})

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return json_response(
                405, {"error": "invalid_request", "error_description": "Use POST."}
            )
        body = request.body.decode("utf-8", "replace")
        content_type = request.headers.get("Content-Type", "")
        try:
            form = (
                json.loads(body or "{}")
                if "json" in content_type
                else dict(parse_qsl(body, keep_blank_values=True))
            )
        except ValueError:
            form = {}
        if not isinstance(form, dict):
            form = {}
        form = {**request.query, **{str(k): str(v) for k, v in form.items()}}
        if form.get("grant_type") != "refresh_token":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Invalid grant_type: {form.get('grant_type', '')}",
                },
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        if form.get("refresh_token") != self.refresh_token:
            return json_response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = f"ya29.sandbox-{next(self._counter):06d}"
        with self._lock:
            self.access_tokens.add(token)
        return json_response(
            200,
            {
                "access_token": token,
                "expires_in": TOKEN_LIFETIME,
                "scope": SCOPE,
                "token_type": "Bearer",
            },
        )

    def _authorize(self, request: Request, version: str, customer: str) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            raise _ApiError(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
            )
        with self._lock:
            known = token in self.access_tokens
        if not known:
            raise _ApiError(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        if request.headers.get("developer-token") != self.developer_token:
            if int(version[1:]) >= 19:
                raise _ApiError(
                    401,
                    "UNAUTHENTICATED",
                    "The developer token is not valid.",
                    "authenticationError",
                    "DEVELOPER_TOKEN_INVALID",
                )
            raise _ApiError(
                403,
                "PERMISSION_DENIED",
                "The developer token is not approved for this account; non-test accounts need "
                "Basic or Standard access.",
                "authorizationError",
                "DEVELOPER_TOKEN_NOT_APPROVED",
            )
        if not customer.isdigit():
            raise _ApiError(
                401,
                "UNAUTHENTICATED",
                f"Customer id '{customer}' is not a number (no dashes).",
                "authenticationError",
                "CLIENT_CUSTOMER_ID_INVALID",
            )
        login = request.headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            raise _ApiError(
                401,
                "UNAUTHENTICATED",
                f"login-customer-id '{login}' is not a number (no dashes).",
                "authenticationError",
                "LOGIN_CUSTOMER_ID_INVALID",
            )
        if customer != self.business.config.google_customer_id:
            raise _ApiError(
                403,
                "PERMISSION_DENIED",
                f"The user does not have permission to access customer {customer}; for a "
                "client of a manager account set the login-customer-id header.",
                "authorizationError",
                "USER_PERMISSION_DENIED",
            )

    def _search_stream(self, request: Request, version: str, request_id: str) -> Response:
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise _ApiError(
                400,
                "INVALID_ARGUMENT",
                'The body must be a JSON object {"query": "<GAQL>"}.',
                "requestError",
                "REQUIRED_FIELD_MISSING",
            )
        query = parse_gaql(payload["query"])
        rows = [self._drifted(row, query.fields) for row in self._rows(query)]
        mask = ",".join(_camel(name) for name in query.fields)
        batches: list[dict[str, Any]] = []
        size = max(1, self.batch_size or BATCH_SIZE)
        for start in range(0, len(rows), size):
            batches.append(
                {
                    "results": rows[start : start + size],
                    "fieldMask": mask,
                    "requestId": request_id,
                }
            )
        if not batches:
            batches.append({"fieldMask": mask, "requestId": request_id})
        return json_response(200, batches)

    def _drifted(self, row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        drift = self.drift
        metrics = row.get("metrics")
        if not drift or not isinstance(metrics, dict):
            return row
        metrics = dict(metrics)
        if "numbers_as_strings" in drift:
            row = self._flipped(row, fields)
            metrics = dict(row["metrics"])
        if "dash_values" in drift:
            metrics = {k: "-" if v in ("0", 0, 0.0) else v for k, v in metrics.items()}
        if "renamed_field" in drift and "costMicros" in metrics:
            metrics["costAmountMicros"] = metrics.pop("costMicros")
        if "new_field" in drift:
            metrics[NEW_FIELD] = 0.05
        return {**row, "metrics": metrics}

    @staticmethod
    def _flipped(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        # int64 values as JSON numbers, doubles as JSON strings: the opposite of proto3 JSON.
        out: dict[str, Any] = json.loads(json.dumps(row))
        for name in fields:
            path, kind = ALL_FIELDS[name]
            parent = _get(out, path[:-1])
            if not isinstance(parent, dict) or path[-1] not in parent:
                continue
            value = parent[path[-1]]
            if kind == "int":
                parent[path[-1]] = int(value)
            elif kind == "double":
                parent[path[-1]] = str(value)
        return out

    def _rows(self, query: _Query) -> list[dict[str, Any]]:
        business = self.business
        measured = any(name.startswith(("metrics.", "segments.")) for name in query.fields) or any(
            c.field.startswith(("metrics.", "segments.")) for c in query.conditions
        )
        if query.resource == "customer" and measured:
            # The account's totals: every campaign's row of a day, summed.
            source = self._summed(business.google_campaign_stats, ("segments", "date"))
        elif query.resource == "customer":
            source = [{"customer": business.google_customer}]
        elif not any(name.startswith(("metrics.", "segments.")) for name in query.fields) and (
            not any(c.field.startswith(("metrics.", "segments.")) for c in query.conditions)
        ):
            source = self._entities(query.resource)
        elif query.resource == "campaign":
            source = business.google_campaign_stats
        elif query.resource == "ad_group":
            source = business.google_ad_group_stats
        else:
            source = business.google_ad_stats
        tests: list[Callable[[dict[str, Any]], bool]] = []
        for condition in query.conditions:
            kind = ALL_FIELDS[condition.field][1]
            tests.append(
                lambda row, c=condition, k=kind: _matches(_field(row, c.field), c, k)  # type: ignore[misc]
            )
        selected = [row for row in source if all(test(row) for test in tests)]
        if (query.resource != "customer" or measured) and "segments.date" not in query.fields:
            selected = self._summed(selected, _ENTITY_ID[query.resource])
        for name, descending in reversed(query.order):
            selected.sort(key=lambda row, n=name: _field(row, n), reverse=descending)  # type: ignore[misc]
        if query.limit is not None:
            selected = selected[: query.limit]
        return [self._project(row, query.fields) for row in selected]

    def _entities(self, resource: str) -> list[dict[str, Any]]:
        customer = self.business.google_customer
        prefix = customer["resourceName"]
        out: list[dict[str, Any]] = []
        for c in _catalog.GOOGLE_CAMPAIGNS:
            campaign = {
                "resourceName": f"{prefix}/campaigns/{c.id}",
                "status": self.business.google_campaign_status(c.id),
                "advertisingChannelType": c.channel_type,
                "name": c.name,
                "id": c.id,
            }
            if resource == "campaign":
                out.append({"customer": customer, "campaign": campaign})
                continue
            seen: set[str] = set()
            for ad in _catalog.GOOGLE_ADS[c.id]:
                if resource == "ad_group" and ad.ad_group_id in seen:
                    continue
                seen.add(ad.ad_group_id)
                row = {
                    "customer": customer,
                    "campaign": campaign,
                    "adGroup": google_ad_group_json(ad, customer, campaign),
                }
                if resource == "ad_group_ad":
                    row["adGroupAd"] = google_ad_group_ad_json(ad, customer)
                out.append(row)
        return out

    @staticmethod
    def _summed(rows: list[dict[str, Any]], entity: tuple[str, ...]) -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for row in rows:
            key = str(_get(row, entity))
            seen = groups.get(key)
            if seen is None:
                groups[key] = {**row, "metrics": dict(row.get("metrics", {}))}
                continue
            metrics = seen["metrics"]
            for name, value in row["metrics"].items():
                if isinstance(value, str):
                    metrics[name] = str(int(metrics[name]) + int(value))
                else:
                    metrics[name] = round(metrics[name] + value, 2)
        return list(groups.values())

    @staticmethod
    def _project(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        # Every message with a selected field comes with its `resourceName`; unset fields
        # (such as the name of a responsive search ad) are left out.
        out: dict[str, Any] = {}
        for name in fields:
            path = ALL_FIELDS[name][0]
            value = _get(row, path)
            if value is None:
                continue
            target, source = out, row
            for key in path[:-1]:
                source = source[key]
                if key not in target:
                    target[key] = {}
                    if "resourceName" in source:
                        target[key]["resourceName"] = source["resourceName"]
                target = target[key]
            target[path[-1]] = value
        return out
