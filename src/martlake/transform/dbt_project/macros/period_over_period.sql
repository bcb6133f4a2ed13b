{#-
  For each metric: `<metric>_<suffix>` (its value in the `previous` row, NULL when that period is
  outside the data) and `<metric>_<suffix_pct>` ((current − previous) ÷ previous, a fraction;
  NULL when the previous value is 0 or NULL). Renders a comma-separated column list.
-#}
{% macro period_over_period(metrics, current, previous, suffix, pct_suffix) -%}
    {%- for metric in metrics %}
    {{ previous }}.{{ metric }} as {{ metric }}_{{ suffix }},
    {{ safe_divide(current ~ '.' ~ metric ~ ' - ' ~ previous ~ '.' ~ metric, previous ~ '.' ~ metric) }}
        as {{ metric }}_{{ pct_suffix }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
