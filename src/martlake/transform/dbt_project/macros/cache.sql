{#-
  Memos for one dbt invocation: the columns of a relation and a model's watermark are looked
  up once, not by every macro that asks (each lookup is a query). A memo lives in a dict of
  the run's graph keyed by the invocation id. `scope` says how long a value holds: 'sources'
  for the raw tables, which no model writes; otherwise the model being built, whose own table
  changes only once its SQL has been rendered.
-#}
{% macro invocation_memo(scope) -%}
    {%- set memos = graph.setdefault('martlake_memos', {}) -%}
    {%- set key = invocation_id ~ '|' ~ (scope or model.unique_id) -%}
    {{ return(memos.setdefault(key, {})) }}
{%- endmacro %}

{#- Lower-cased column names of an existing relation. -#}
{% macro relation_column_names(relation, scope=none) -%}
    {%- set memo = invocation_memo(scope) -%}
    {%- set key = 'columns|' ~ relation -%}
    {%- if key not in memo -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
        {%- do memo.update({key: names}) -%}
    {%- endif -%}
    {{ return(memo[key]) }}
{%- endmacro %}
