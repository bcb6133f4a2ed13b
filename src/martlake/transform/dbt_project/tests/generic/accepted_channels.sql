{#- Returns the rows whose channel is neither a built-in channel nor one `[attribution]` maps to. -#}
{% test accepted_channels(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in (
    {%- for channel in attribution_channel_names() -%}
        {{ sql_string(channel) }}{{ ", " if not loop.last }}
    {%- endfor -%}
)
{% endtest %}
