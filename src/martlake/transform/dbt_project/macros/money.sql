{#- Money is DECIMAL(18,2) from the raw zone to the marts. -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}
