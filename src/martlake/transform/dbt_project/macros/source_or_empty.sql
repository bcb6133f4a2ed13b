{#-
  Select the contract columns of a raw source table, typed as declared in the sources yml.
  A missing table gives an empty typed result and a missing column a typed NULL, so a project
  without Meta (or without refunds yet) still builds.
-#}
{% macro source_or_empty(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set source_id = 'source.' ~ model.package_name ~ '.' ~ source_name ~ '.' ~ table_name -%}
        {%- set contract = graph.sources[source_id].columns.values() | list -%}
        {%- set existing = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
        {%- set present = relation_column_names(existing, scope='sources')
            if existing is not none else [] -%}
        select
        {%- for column in contract %}
            {% if column.name | lower in present -%}
                cast({{ adapter.quote(column.name) }} as {{ column.data_type }})
            {%- else -%}
                cast(null as {{ column.data_type }})
            {%- endif %} as {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
        {%- endfor %}
        {% if existing is not none -%}
            from {{ existing }}
        {%- else -%}
            from (select 1) as missing_source
            where false
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
