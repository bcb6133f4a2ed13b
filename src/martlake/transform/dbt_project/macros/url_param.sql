{#- One query-string parameter of a URL, form-decoded ('+' is a space), NULL when absent or empty. -#}
{% macro url_param(url, name) -%}
    {{ return(adapter.dispatch('url_param', 'martlake')(url, name)) }}
{%- endmacro %}

{% macro default__url_param(url, name) -%}
    nullif(trim(url_decode(replace(
        regexp_extract({{ url }}, '[?&]{{ name }}=([^&#]*)', 1, 'i'), '+', ' '
    ))), '')
{%- endmacro %}
