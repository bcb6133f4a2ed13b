{#-
  Per group (`group_by`), the shares in the column add up to 1 (within `tolerance`) wherever any
  share is not NULL; returns each group that does not.
-#}
{% test shares_sum_to_one(model, column_name, group_by, tolerance=0.000001) %}
select
    {{ group_by }} as grouping_key,
    sum({{ column_name }}) as share_total
from {{ model }}
group by {{ group_by }}
having count({{ column_name }}) > 0
    and abs(sum({{ column_name }}) - 1) > {{ tolerance }}
{% endtest %}
