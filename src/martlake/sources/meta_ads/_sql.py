"""The SQL path of insights pages (see `martlake.sources._arrow_sql`): the columns `_columns`
builds, from the page bodies, with the same rules."""

from typing import Any

from martlake.sources._arrow_sql import PageSql

_TEXT = "VARCHAR"
ROW: dict[str, Any] = {
    "account_id": _TEXT,
    "account_name": _TEXT,
    "account_currency": _TEXT,
    "date_start": _TEXT,
    "date_stop": _TEXT,
    "campaign_id": _TEXT,
    "campaign_name": _TEXT,
    "adset_id": _TEXT,
    "adset_name": _TEXT,
    "ad_id": _TEXT,
    "ad_name": _TEXT,
    "spend": _TEXT,
    "impressions": _TEXT,
    "clicks": _TEXT,
    "actions": "JSON",
    "action_values": [{"action_type": _TEXT, "value": _TEXT}],
    "attribution_setting": _TEXT,
}
ACTIONS = '[{"action_type":"VARCHAR","value":"VARCHAR"}]'

MACROS = r"""
CREATE OR REPLACE TEMP MACRO ml_blank(v) AS v IS NULL OR v IN ('', '-');
CREATE OR REPLACE TEMP MACRO ml_count(v) AS CASE
    WHEN ml_blank(v) THEN NULL
    WHEN regexp_full_match(v, '-?[0-9]{1,18}') THEN TRY_CAST(v AS BIGINT)
    ELSE ml_miss() END;
-- The value of the first purchase type present (the last action of that type, as a dict
-- keeps it), blank as NULL: `_purchase`.
CREATE OR REPLACE TEMP MACRO ml_typed(acts, t) AS list_filter(acts, lambda x: x.action_type = t);
CREATE OR REPLACE TEMP MACRO ml_purchase(acts) AS nullif(nullif(CASE
    WHEN len(ml_typed(acts, 'offsite_conversion.fb_pixel_purchase')) > 0
        THEN ml_typed(acts, 'offsite_conversion.fb_pixel_purchase')[-1].value
    WHEN len(ml_typed(acts, 'purchase')) > 0 THEN ml_typed(acts, 'purchase')[-1].value
    WHEN len(ml_typed(acts, 'omni_purchase')) > 0 THEN ml_typed(acts, 'omni_purchase')[-1].value
    END, ''), '-');
CREATE OR REPLACE TEMP MACRO ml_whole(v) AS CASE
    WHEN v IS NULL THEN 0
    WHEN regexp_full_match(v, '-?[0-9]{1,15}(\.[0-9]*)?')
        THEN CAST(trunc(TRY_CAST(v AS DOUBLE)) AS BIGINT)
    ELSE ml_miss() END;
"""

# `actions` stays JSON text for `actions_json`, so it is parsed once more for purchases. The
# Python path re-encodes it with `json` (non-ASCII escaped), so non-ASCII text misses.
QUERY = f"""
WITH rows AS (SELECT unnest(p.data) AS r FROM pages),
parsed AS (SELECT r, from_json(r.actions, '{ACTIONS}') AS acts FROM rows)
SELECT
    CASE WHEN r.account_id IS NULL OR r.account_id = '' THEN $account ELSE r.account_id END
        AS account_id,
    coalesce(nullif(r.account_name, ''), $name) AS account_name,
    coalesce(nullif(r.account_currency, ''), $currency) AS account_currency,
    $timezone AS account_timezone,
    r.date_start AS date_start,
    coalesce(nullif(r.date_stop, ''), r.date_start) AS date_stop,
    r.campaign_id AS campaign_id,
    r.campaign_name AS campaign_name,
    r.adset_id AS adset_id,
    r.adset_name AS adset_name,
    r.ad_id AS ad_id,
    r.ad_name AS ad_name,
    CASE WHEN ml_blank(r.spend) THEN NULL ELSE r.spend END AS spend,
    ml_count(r.impressions) AS impressions,
    ml_count(r.clicks) AS clicks,
    ml_whole(ml_purchase(acts)) AS purchases,
    coalesce(ml_purchase(r.action_values), '0') AS purchase_value,
    CASE WHEN len(acts) > 0 THEN CAST(r.actions AS VARCHAR) END AS actions_json,
    r.attribution_setting AS attribution_setting,
    (r.date_start IS NULL OR r.ad_id IS NULL OR r.spend IS NULL OR r.impressions IS NULL
        OR r.clicks IS NULL OR (r.actions IS NOT NULL AND acts IS NULL)
        OR strlen(r.actions) <> length(r.actions)) AS _miss
FROM parsed
"""

PAGES = PageSql({"data": [ROW]}, MACROS)
"""Shared by every `MetaAdsSource`; each thread gets its own DuckDB connection."""
