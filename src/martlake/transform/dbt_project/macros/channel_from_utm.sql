{#-
  The marketing channel of an order: first match wins (see the channel rules in the docs).
  UTM values are compared trimmed and lower-cased; a click id counts only without a utm_source.
-#}
{% macro channel_from_utm(utm_source, utm_medium, fbclid, gclid, ttclid, referring_site) -%}
    {%- set source = "lower(trim(" ~ utm_source ~ "))" -%}
    {%- set medium = "lower(trim(" ~ utm_medium ~ "))" -%}
    {%- set no_source = "coalesce(" ~ source ~ ", '') = ''" -%}
    case
        when {{ source }} in ('facebook', 'fb', 'instagram', 'ig', 'meta')
            or ({{ no_source }} and coalesce(trim({{ fbclid }}), '') <> '') then 'meta'
        when {{ source }} in ('google', 'adwords', 'youtube')
            or ({{ no_source }} and coalesce(trim({{ gclid }}), '') <> '') then 'google'
        when {{ source }} in ('tiktok')
            or ({{ no_source }} and coalesce(trim({{ ttclid }}), '') <> '') then 'tiktok'
        when {{ medium }} = 'email' or {{ source }} in ('klaviyo', 'newsletter', 'email') then 'email'
        when not ({{ no_source }}) then 'other'
        when coalesce(trim({{ referring_site }}), '') <> '' then 'referral'
        else 'direct'
    end
{%- endmacro %}
