{#-
  Sort key of the latest sale movement (latest observed, then highest line id; missing values
  first): `arg_max(product_title, latest_sale_order())` names a product as its latest sale does.
-#}
{% macro latest_sale_order(observed_at='observed_at', order_line_id='order_line_id') -%}
    (
        coalesce({{ observed_at }}, cast('-infinity' as timestamptz)),
        coalesce({{ order_line_id }}, -9223372036854775808)
    )
{%- endmacro %}

{#- The key of a product variant in int_product_variants: either id may be NULL (a custom line
    item, a deleted product or variant), so both are spelled out. -#}
{% macro variant_key(product_id='product_id', variant_id='variant_id') -%}
    coalesce(cast({{ product_id }} as varchar), '') || '|'
        || coalesce(cast({{ variant_id }} as varchar), '')
{%- endmacro %}
