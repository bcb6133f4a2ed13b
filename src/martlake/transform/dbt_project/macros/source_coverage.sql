{#-
  The sources source_coverage_daily reports on: the var `configured_sources` (the pipeline
  passes the `[sources.*]` sections of martlake.toml), else every source with a raw table.
-#}
{% macro coverage_sources() -%}
    {%- set tables = {
        'shopify': ('raw_shopify', 'orders'),
        'meta_ads': ('raw_meta_ads', 'insights'),
        'google_ads': ('raw_google_ads', 'campaign_stats'),
        'tiktok_ads': ('raw_tiktok_ads', 'ad_stats'),
    } -%}
    {%- set configured = var('configured_sources', none) -%}
    {%- set names = [] -%}
    {%- if configured is not none -%}
        {%- for name in configured if name in tables -%}
            {%- do names.append(name) -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- for name, (source_name, table_name) in tables.items() -%}
            {%- set relation = source(source_name, table_name) -%}
            {%- if adapter.get_relation(
                database=relation.database, schema=relation.schema,
                identifier=relation.identifier
            ) is not none -%}
                {%- do names.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
