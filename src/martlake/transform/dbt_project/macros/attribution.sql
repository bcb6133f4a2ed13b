{#-
  Attribution rules (see models/intermediate/int_orders__attributed.sql and the docs).
  Vars, from `[attribution]` in martlake.toml: `attribution_channels`, a mapping utm_source
  spelling → channel that extends and overrides the defaults below,
  `attribution_discount_codes`, a list of {pattern, channel, campaign_id?} tried in order,
  `attribution_survey_answers`, a mapping survey answer → channel on top of the utm_source
  spellings and the survey defaults, and `attribution_survey_questions`, the ids of the survey
  questions that attribute (default: every question but clarifications).
-#}
{% macro attribution_channel_map() -%}
    {%- set channels = {
        'facebook': 'meta', 'fb': 'meta', 'instagram': 'meta', 'ig': 'meta', 'meta': 'meta',
        'messenger': 'meta', 'msg': 'meta', 'audience_network': 'meta', 'an': 'meta',
        'google': 'google', 'adwords': 'google', 'google_ads': 'google', 'youtube': 'google',
        'tiktok': 'tiktok',
        'klaviyo': 'email', 'newsletter': 'email', 'email': 'email',
    } -%}
    {%- for spelling, channel in (var('attribution_channels', {}) or {}).items() -%}
        {%- do channels.update({spelling | trim | lower: channel}) -%}
    {%- endfor -%}
    {{ return(channels) }}
{%- endmacro %}

{#-
  Survey answer → channel, compared trimmed and lower-cased: the utm_source spellings (an
  answer "Instagram" is Meta), common answers to "How did you hear about us?", then the
  configured ones. An answer mapped to no channel does not attribute the order.
-#}
{% macro attribution_survey_answer_map() -%}
    {%- set answers = attribution_channel_map() -%}
    {%- do answers.update({
        'podcast': 'podcast', 'friend or family': 'word_of_mouth',
        'friend': 'word_of_mouth', 'word of mouth': 'word_of_mouth',
        'blog or article': 'referral', 'blog': 'referral',
    }) -%}
    {%- for answer, channel in (var('attribution_survey_answers', {}) or {}).items() -%}
        {%- do answers.update({answer | trim | lower: channel}) -%}
    {%- endfor -%}
    {{ return(answers) }}
{%- endmacro %}

{#- The channel a survey answer maps to; else NULL. -#}
{% macro channel_of_survey_answer(answer) -%}
    case lower(trim({{ answer }}))
        {%- for spelling, channel in attribution_survey_answer_map() | dictsort %}
        when {{ sql_string(spelling) }} then {{ sql_string(channel) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The discount-code rules, numbered from 1 in the order configured. -#}
{% macro attribution_discount_code_rules() -%}
    {{ return(var('attribution_discount_codes', []) or []) }}
{%- endmacro %}

{#- Every channel an order can get: the fixed ones plus those the config maps to. -#}
{% macro attribution_channel_names() -%}
    {%- set names = ['meta', 'google', 'tiktok', 'email', 'other', 'referral', 'direct'] -%}
    {%- for channel in attribution_channel_map().values() | list
        + attribution_survey_answer_map().values() | list
        + attribution_discount_code_rules() | map(attribute='channel') | list -%}
        {%- if channel not in names -%}{%- do names.append(channel) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- A SQL string literal. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- The channel a utm_source spelling maps to, compared trimmed and lower-cased; else NULL. -#}
{% macro channel_of_utm_source(utm_source) -%}
    case lower(trim({{ utm_source }}))
        {%- for spelling, channel in attribution_channel_map() | dictsort %}
        when {{ sql_string(spelling) }} then {{ sql_string(channel) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The rules as a relation (rule_number, pattern, channel, campaign_id); empty without rules. -#}
{% macro attribution_discount_code_relation() -%}
    {%- set rules = attribution_discount_code_rules() -%}
    {%- if rules | length == 0 -%}
    select
        cast(null as integer) as rule_number,
        cast(null as varchar) as pattern,
        cast(null as varchar) as channel,
        cast(null as varchar) as campaign_id
    where false
    {%- else -%}
    select
        cast(rule_number as integer) as rule_number,
        cast(pattern as varchar) as pattern,
        cast(channel as varchar) as channel,
        cast(campaign_id as varchar) as campaign_id
    from (values
        {%- for rule in rules %}
        ({{ loop.index }}, {{ sql_string(rule['pattern']) }}, {{ sql_string(rule['channel']) }},
            {% if rule.get('campaign_id') %}{{ sql_string(rule['campaign_id']) }}{% else %}null{% endif %})
            {{- "," if not loop.last }}
        {%- endfor %}
    ) as rules (rule_number, pattern, channel, campaign_id)
    {%- endif -%}
{%- endmacro %}

{#- A campaign name or utm_campaign folded for matching: `Spring Sale` = `spring_sale`. -#}
{% macro campaign_name_key(expression) -%}
    nullif(trim(regexp_replace(lower({{ expression }}), '[^a-z0-9]+', '_', 'g'), '_'), '')
{%- endmacro %}
