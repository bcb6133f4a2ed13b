{#-
  Incremental builds of the Shopify order models.

  Raw is append-only and each order version arrives with its lines and refunds under one
  `_ingested_at`. An incremental model holds `_ingested_at` (the newest raw load behind each
  row), so `max(_ingested_at)` of the model is what its previous build had seen. A build
  rebuilds, from every raw row they have, the keys its `rebuild_keys` macro names: the orders
  loaded or deleted since then, and whatever else they reach (the other orders of their
  customers, a change of the campaigns attribution matches against). The `rebuild_keys`
  strategy first deletes every row of those keys, then inserts the rebuilt rows, so a deleted
  order, or a line no longer in its order, disappears too. `--full-refresh` rebuilds all.
-#}
{% macro get_incremental_rebuild_keys_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ arg_dict['unique_key'] }} in (select * from {{ rebuild_keys_relation() }})
        or {{ arg_dict['unique_key'] }} is null;
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }};
    drop table if exists {{ rebuild_keys_relation() }}
{%- endmacro %}

{#-
  The keys an incremental `rebuild_keys` build rebuilds are computed once, before the model
  runs (the pre-hook every model has in dbt_project.yml), into `<model>__rebuild_keys` next to
  it: the model selects its rows by them and the strategy deletes them, then drops the table.
-#}
{% macro rebuild_keys_relation() -%}
    {{ return(api.Relation.create(
        database=this.database, schema=this.schema,
        identifier=this.identifier ~ '__rebuild_keys', type='table',
    )) }}
{%- endmacro %}

{% macro stage_rebuild_keys() -%}
    {%- if execute and config.get('incremental_strategy') == 'rebuild_keys'
        and is_incremental() -%}
    create or replace table {{ rebuild_keys_relation() }} as
    {% if rebuilds_everything() -%}
    select distinct {{ config.require('unique_key') }} from {{ this }}
    {%- else -%}
    select distinct * from ({{ context[config.require('rebuild_keys')]() }}) as rebuild_keys
    {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#-
  An incremental model without a watermark (no rows yet, say a shop that never refunded, or
  built before it had one), or without a column its `rebuild_all_without` config names (built
  by an older version), rebuilds every row, as a full refresh, without working out keys.
-#}
{% macro rebuilds_everything() -%}
    {%- for required in config.get('rebuild_all_without', []) -%}
        {%- if not has_column(this, required) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set column = '_ingested_through' if has_column(this, '_ingested_through')
        else '_ingested_at' -%}
    {{ return(watermark_literal(this, column).strip().startswith('cast(null')) }}
{%- endmacro %}

{#-
  The newest raw load the incremental model has processed, as a literal (NULL while it is empty
  or when it was built before it had `_ingested_at`: then everything is rebuilt, and the column
  added). A literal, not a subquery, lets DuckDB skip the raw row groups loaded before it.
-#}
{% macro built_through() -%}
    {{ watermark_literal(this, '_ingested_at') }}
{%- endmacro %}

{% macro watermark_literal(relation, column) -%}
    {%- set value = none -%}
    {%- if execute and has_column(relation, column) -%}
        {%- set memo = invocation_memo() -%}
        {%- set key = 'max|' ~ column ~ '|' ~ relation -%}
        {%- if key not in memo -%}
            {%- do memo.update({key: run_query(
                'select cast(max(' ~ column ~ ') as varchar) from ' ~ relation
            ).columns[0].values()[0]}) -%}
        {%- endif -%}
        {%- set value = memo[key] -%}
    {%- endif -%}
    {%- if value is none -%}
        cast(null as timestamptz)
    {%- else -%}
        timestamptz '{{ value }}'
    {%- endif -%}
{%- endmacro %}

{#- `column > watermark`, true for every row when the watermark is NULL. -#}
{% macro loaded_after(column, watermark) -%}
    {%- if watermark.strip().startswith('cast(null') -%}
        true
    {%- else -%}
        {{ column }} > {{ watermark }}
    {%- endif -%}
{%- endmacro %}

{% macro has_column(relation, name) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(name | lower in relation_column_names(relation)) }}
{%- endmacro %}

{#-
  Orders with a new version, a deletion or a new or changed survey response loaded after the
  model's previous build (an order or response re-read unchanged is not rebuilt:
  stg_shopify__order_versions and stg_fairing__responses, which every model calling this
  depends on).
-#}
{% macro shopify_orders_loaded() -%}
    {{ shopify_orders_changed_after(built_through()) }}
{%- endmacro %}

{% macro shopify_orders_changed_after(watermark) -%}
    select order_id
    from {{ ref('stg_shopify__order_versions') }}
    where is_new_version and {{ loaded_after('_ingested_at', watermark) }}
    union
    select order_id
    from ({{ source_or_empty('raw_shopify', 'deleted_orders') }}) as deleted_orders
    where {{ loaded_after('_ingested_at', watermark) }}
    union
    select order_id
    from {{ ref('stg_fairing__responses') }}
    where order_id is not null and {{ loaded_after('_version_loaded_at', watermark) }}
{%- endmacro %}

{#-
  The customers of every version of the orders loaded since the previous build: the customers
  an order joined or left, whose other orders are renumbered.
-#}
{% macro shopify_customers_loaded() -%}
    select distinct customer_key
    from {{ ref('stg_shopify__order_versions') }}
    where order_id in ({{ shopify_orders_loaded() }})
        and customer_key is not null
{%- endmacro %}

{#-
  What attribution matches orders against besides the orders themselves: the campaigns (ids,
  names, whether a name is unique) and the configured spellings and discount-code rules.
  When it changes, every order is attributed again.
-#}
{% macro attribution_fingerprint() -%}
    (
        select md5(
            coalesce(string_agg(
                concat_ws('|', platform, campaign_id, campaign_name, campaign_name_is_unique),
                ',' order by platform, campaign_id
            ), '')
            || '{{ tojson(var('attribution_channels', {}) or {}) | replace("'", "''") }}'
            || '{{ tojson(var('attribution_discount_codes', []) or []) | replace("'", "''") }}'
            || '{{ tojson(var('attribution_survey_answers', {}) or {}) | replace("'", "''") }}'
            || '{{ tojson(var('attribution_survey_questions', []) or []) | replace("'", "''") }}'
        )
        from {{ ref('int_ad_campaigns') }}
    )
{%- endmacro %}

{#-
  Keys of the rows attributed under another fingerprint than now's: the campaigns, the channel
  spellings or the discount-code rules changed since they were built. Every model that keeps
  `_attribution_fingerprint` names it in `rebuild_all_without`, so a table built before the
  column existed is rebuilt whole once.
-#}
{% macro fingerprint_changed(key='order_id') -%}
    select {{ key }}
    from {{ this }}
    where _attribution_fingerprint is distinct from {{ attribution_fingerprint() }}
{%- endmacro %}

{#- Rebuild keys of int_orders__attributed. -#}
{% macro attributed_orders_to_rebuild() -%}
    {{ shopify_orders_loaded() }}
    union
    {{ fingerprint_changed() }}
{%- endmacro %}

{#- Rebuild keys of int_orders__sequenced. -#}
{% macro sequenced_orders_to_rebuild() -%}
    {{ shopify_orders_loaded() }}
    union
    select order_id
    from {{ this }}
    where customer_key in ({{ shopify_customers_loaded() }})
{%- endmacro %}

{#-
  Rebuild keys of shopify_unified: orders loaded since its previous build, the other orders of
  their customers whose number in int_orders__sequenced changed (a late, backfilled, moved or
  deleted order renumbers only the orders after it), and the orders attributed under another
  fingerprint.
-#}
{% macro unified_orders_to_rebuild() -%}
    {{ shopify_orders_loaded() }}
    union
    select unified.order_id
    from {{ this }} as unified
    inner join (
        select order_id, customer_order_number
        from {{ ref('int_orders__sequenced') }}
        where customer_key in ({{ shopify_customers_loaded() }})
    ) as sequenced
        on unified.order_id = sequenced.order_id
    where unified.customer_order_number is distinct from sequenced.customer_order_number
    union
    {{ fingerprint_changed() }}
{%- endmacro %}

{#-
  Rebuild keys of shopify_order_lines and shopify_refund_lines, which copy order columns from
  shopify_unified: orders loaded since their previous build and the orders copied under
  another attribution fingerprint.
-#}
{% macro order_copies_to_rebuild() -%}
    {{ shopify_orders_loaded() }}
    union
    {{ fingerprint_changed() }}
{%- endmacro %}

{#-
  Rebuild keys of customer_ltv: the customers of the orders loaded since its previous build,
  those with a horizon that elapsed since (the as-of date moved), and those whose first order
  was attributed under another fingerprint.
-#}
{% macro customer_ltv_to_rebuild() -%}
    {{ shopify_customers_loaded() }}
    union
    select customer_key
    from {{ this }}
    where
        {%- for days in ltv_horizons() %}
        (ltv_{{ days }}d is not null) <> (first_order_date + {{ days }} <= {{ ltv_as_of_date() }})
        {{- " or" if not loop.last }}
        {%- endfor %}
    union
    {{ fingerprint_changed('customer_key') }}
{%- endmacro %}

{#-
  `where` clause of an incremental model's rows: on an incremental build, the rows of the keys
  `macro` names (staged once when it is the model's `rebuild_keys`) and the rows without a
  key, which are rebuilt every time (and deleted first, above) as a full refresh would hold
  them, so a not_null test still sees them; every row on a full build.
-#}
{% macro only_rebuilt(column, macro) -%}
    {%- if is_incremental() and rebuilds_everything() -%}
        true
    {%- elif is_incremental() and macro == config.get('rebuild_keys') -%}
        ({{ column }} in (select * from {{ rebuild_keys_relation() }}) or {{ column }} is null)
    {%- elif is_incremental() -%}
        ({{ column }} in ({{ context[macro]() }}) or {{ column }} is null)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
  `only_rebuilt` for a table rebuilt by month (a `rebuild_keys` query of one column, `month`):
  the rows whose `date_column` falls in a rebuilt month, or is NULL. The months' range is
  spelled out as well, so DuckDB's zone maps skip the row groups outside it.
-#}
{% macro only_rebuilt_months(date_column, macro) -%}
    {%- set month = "cast(date_trunc('month', " ~ date_column ~ ") as date)" -%}
    {%- if is_incremental() and not rebuilds_everything() -%}
        {%- set keys = rebuild_keys_relation() if macro == config.get('rebuild_keys')
            else '(' ~ context[macro]() ~ ')' -%}
        (
            (
                {{ month }} in (select month from {{ keys }} as keys)
                and {{ date_column }} >= (select min(month) from {{ keys }} as keys)
                and {{ date_column }}
                    < cast((select max(month) from {{ keys }} as keys) + interval 1 month as date)
            )
            or {{ date_column }} is null
        )
    {%- else -%}
        {{ only_rebuilt(month, macro) }}
    {%- endif -%}
{%- endmacro %}

{#- A fingerprint of a group's rows without their load columns, in any order
    (stg_shopify__order_versions). -#}
{% macro rows_fingerprint(also_excluded=[]) -%}
    sum(hash(*columns(* exclude (
        {{- (['_extract_run_id', '_ingested_at'] + also_excluded) | join(', ') -}}
    )))::hugeint)
{%- endmacro %}

{#-
  The order the Shopify order models write their rows in: by load, then order id, as daily
  builds append them (a newer order has a higher id). DuckDB keeps each row group's minimum
  and maximum, so a lookup of recent orders by id then skips the rest of a table a full build
  wrote too.
-#}
{% macro in_load_order(columns='order_id') -%}
    order by {{ columns }}
{%- endmacro %}
