-- DuckDB's own path for Meta: insights pages on disk (one `{"data": [...], "paging": ...}` body
-- per file) to the raw table MetaAdsSource writes, with the same columns and types.
-- Placeholders: @pages@ (glob), @account_id@, @account_name@, @currency@, @timezone@, @run_id@.
CREATE TEMP MACRO num(v) AS CASE WHEN CAST(v AS VARCHAR) IN ('', '-') THEN NULL ELSE CAST(v AS VARCHAR) END;
-- Pixel purchases when reported, else `purchase`, else `omni_purchase` (see PURCHASE_ACTIONS).
CREATE TEMP MACRO purchase(actions) AS coalesce(
    list_filter(actions, lambda a: a.action_type = 'offsite_conversion.fb_pixel_purchase')[1].value,
    list_filter(actions, lambda a: a.action_type = 'purchase')[1].value,
    list_filter(actions, lambda a: a.action_type = 'omni_purchase')[1].value
);

CREATE TABLE raw_meta_ads.insights AS
WITH rows AS (
    SELECT unnest(data) AS r
    FROM read_json_auto('@pages@')
)
SELECT
    CAST(coalesce(nullif(CAST(r.account_id AS VARCHAR), ''), '@account_id@') AS VARCHAR) AS account_id,
    CAST(coalesce(nullif(r.account_name, ''), '@account_name@') AS VARCHAR) AS account_name,
    CAST(coalesce(nullif(r.account_currency, ''), '@currency@') AS VARCHAR) AS account_currency,
    '@timezone@' AS account_timezone,
    CAST(r.date_start AS DATE) AS date_start,
    CAST(coalesce(r.date_stop, r.date_start) AS DATE) AS date_stop,
    CAST(r.campaign_id AS VARCHAR) AS campaign_id,
    CAST(r.campaign_name AS VARCHAR) AS campaign_name,
    CAST(r.adset_id AS VARCHAR) AS adset_id,
    CAST(r.adset_name AS VARCHAR) AS adset_name,
    CAST(r.ad_id AS VARCHAR) AS ad_id,
    CAST(r.ad_name AS VARCHAR) AS ad_name,
    CAST(num(r.spend) AS DECIMAL(18, 2)) AS spend,
    CAST(num(r.impressions) AS BIGINT) AS impressions,
    CAST(num(r.clicks) AS BIGINT) AS clicks,
    CAST(trunc(CAST(coalesce(num(purchase(r.actions)), '0') AS DOUBLE)) AS BIGINT) AS purchases,
    CAST(coalesce(num(purchase(r.action_values)), '0') AS DECIMAL(18, 2)) AS purchase_value,
    CASE WHEN len(r.actions) > 0 THEN CAST(to_json(r.actions) AS VARCHAR) END AS actions_json,
    CAST(r.attribution_setting AS VARCHAR) AS attribution_setting,
    'meta_ads' AS _source,
    '@run_id@' AS _extract_run_id,
    CAST(now() AS TIMESTAMPTZ) AS _ingested_at
FROM rows;
