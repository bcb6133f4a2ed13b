{#- The calendar date of a TIMESTAMPTZ in an IANA timezone held by a column or a literal. -#}
{% macro local_date(timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_date', 'martlake')(timestamp, timezone)) }}
{%- endmacro %}

{% macro default__local_date(timestamp, timezone) -%}
    cast(timezone({{ timezone }}, {{ timestamp }}) as date)
{%- endmacro %}
