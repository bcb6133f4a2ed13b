{#- Who placed an order: the Shopify customer id, else the email hash; NULL for neither. -#}
{% macro customer_key(customer_id, email_hash) -%}
    coalesce(cast({{ customer_id }} as varchar), 'email:' || {{ email_hash }})
{%- endmacro %}
