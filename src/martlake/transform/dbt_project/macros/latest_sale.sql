{#-
  Sort key of the latest sale movement (latest observed, then highest line id; missing values
  first): `arg_max(product_title, latest_sale_order())` names a product as its latest sale does.
-#}
{% macro latest_sale_order() -%}
    (
        coalesce(observed_at, cast('-infinity' as timestamptz)),
        coalesce(order_line_id, -9223372036854775808)
    )
{%- endmacro %}
