{#-
  Σ `column` of the model equals Σ `reference_column` (default: `column`) of `reference`, in
  total or per group (`group_by` in the model, `reference_group_by` in the reference, default
  the same expression). Returns each group whose sums differ; NULL sums count as 0.
-#}
{% test sums_match(
    model, column, reference, reference_column=none, group_by=none, reference_group_by=none
) %}
with actual as (
    select {{ group_by or "'total'" }} as grouping_key, coalesce(sum({{ column }}), 0) as total
    from {{ model }}
    group by 1
),

expected as (
    select
        {{ reference_group_by or group_by or "'total'" }} as grouping_key,
        coalesce(sum({{ reference_column or column }}), 0) as total
    from {{ reference }}
    group by 1
)

select
    coalesce(actual.grouping_key, expected.grouping_key) as grouping_key,
    coalesce(actual.total, 0) as model_total,
    coalesce(expected.total, 0) as reference_total
from actual
full outer join expected
    on actual.grouping_key is not distinct from expected.grouping_key
where coalesce(actual.total, 0) <> coalesce(expected.total, 0)
{% endtest %}
