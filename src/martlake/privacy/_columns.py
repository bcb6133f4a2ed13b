"""The PII column policy: which columns of a source's batches are hashed or dropped on load."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from martlake.config._models import PiiKind
from martlake.privacy._hasher import Hasher

if TYPE_CHECKING:
    from martlake.config import PrivacySettings
    from martlake.sources.base import Batch

ALL_SOURCES = "*"
HASH_SUFFIX = "_hash"

_EMAILS = ("email", "e_mail", "email_address", "customer_email", "contact_email", "buyer_email")
_PHONES = (
    "phone",
    "phone_number",
    "customer_phone",
    "contact_phone",
    "mobile",
    "mobile_phone",
    "telephone",
)
DEFAULT_PII_COLUMNS: Mapping[str, Mapping[str, PiiKind]] = {
    ALL_SOURCES: {
        **dict.fromkeys(_EMAILS, "email"),
        **dict.fromkeys(_PHONES, "phone"),
    },
}
"""Columns treated as PII in every source unless `[privacy.columns]` says otherwise.

Shopify hashes its email and phone itself (`email_hash`, `phone_hash`), Fairing its email
(`email_hash`); the ad sources carry no PII. A files or SQL source with a column `email` or
`phone` is covered without any setting.
"""


def _nested(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _nested(kind.value_type)
    return bool(pa.types.is_struct(kind))


class PiiPolicy:
    """Hash or drop the PII columns of every batch before it is loaded.

    An `email`, `phone` or `hash` column `c` is replaced, at the same position, by `c_hash`
    (or hashed in place when `c` already ends in `_hash`); values that already look like a
    hash are kept, so nothing is hashed twice. `drop` removes the column, `keep` leaves it.
    Column names compare case-insensitively; a rule for `table.column` beats one for `column`.
    Fields of struct columns (also inside lists) are treated the same way, at any depth: the
    field `email` of a column `customer` matches `table.customer.email`, then
    `customer.email`, then `email`.
    """

    def __init__(
        self,
        hasher: Hasher,
        columns: Mapping[str, Mapping[str, PiiKind]] | None = None,
        *,
        defaults: Mapping[str, Mapping[str, PiiKind]] = DEFAULT_PII_COLUMNS,
    ) -> None:
        self.hasher = hasher
        self._layers = [defaults, columns or {}]
        self._plans: dict[tuple[str, str, tuple[str, ...]], list[tuple[int, str, PiiKind]]] = {}

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> PiiPolicy:
        """The policy of a project's `[privacy]` settings.

        Raises:
            ConfigError: `mode = "hmac"` without `secret`.
        """
        return cls(Hasher.from_settings(settings), settings.columns)

    def rules(self, source: str) -> dict[str, PiiKind]:
        """Column (or `table.column`) to kind for one source: defaults, then settings."""
        out: dict[str, PiiKind] = {}
        for layer in self._layers:
            for key in (ALL_SOURCES, source.lower()):
                out.update({c.lower(): k for c, k in (layer.get(key) or {}).items()})
        return out

    def apply(self, source: str, table: str, data: pa.Table) -> pa.Table:
        """`data` with its PII columns (and fields of nested columns) hashed or dropped."""
        data = self._apply_nested(source, table, data)
        plan = self._plan(source, table, data.column_names)
        if not plan:
            return data
        for index, name, kind in sorted(plan, reverse=True):
            if kind == "drop":
                data = data.remove_column(index)
                continue
            target = name if name.lower().endswith(HASH_SUFFIX) else name + HASH_SUFFIX
            hashed = self._hash(data.column(index), kind)
            lowered = [n.lower() for n in data.column_names]
            existing = lowered.index(target.lower()) if target.lower() in lowered else index
            if existing != index:
                # The source sent both `c` and `c_hash`: its own hash wins where it has one.
                own = data.column(existing).combine_chunks().cast(pa.string())
                field = pa.field(data.column_names[existing], pa.string())
                data = data.set_column(existing, field, pc.coalesce(own, hashed))
                data = data.remove_column(index)
            else:
                data = data.set_column(index, pa.field(target, pa.string()), hashed)
        return data

    def protect(self, source: str, batches: Iterable[Batch]) -> Iterator[Batch]:
        """The batches of `source` with `apply` run on each."""
        for batch in batches:
            yield batch._replace(data=self.apply(source, batch.table, batch.data))

    def _apply_nested(self, source: str, table: str, data: pa.Table) -> pa.Table:
        if not any(_nested(f.type) for f in data.schema):
            return data
        rules = self.rules(source)
        for index, field in enumerate(data.schema):
            if not _nested(field.type):
                continue
            kind = rules.get(f"{table}.{field.name}".lower()) or rules.get(field.name.lower())
            if kind is not None:
                continue  # the whole column has a rule
            array = data.column(index).combine_chunks()
            new = self._protect(rules, table, field.name, array)
            if new is not None:
                data = data.set_column(index, pa.field(field.name, new.type), new)
        return data

    def _protect(
        self, rules: Mapping[str, PiiKind], table: str, path: str, array: pa.Array
    ) -> pa.Array | None:
        """A struct (or list of structs) array with its PII fields hashed or dropped; None
        when nothing changes."""
        kind = array.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            values = self._protect(rules, table, path, array.values)
            if values is None:
                return None
            cls = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
            mask = array.is_null() if array.null_count else None
            return cls.from_arrays(array.offsets, values, mask=mask)
        if not pa.types.is_struct(kind):
            return None
        names = [kind.field(i).name for i in range(kind.num_fields)]
        children: list[pa.Array] = list(array.flatten())
        changed = False
        for i in reversed(range(len(names))):
            name = names[i]
            sub = f"{path}.{name}".lower()
            rule = rules.get(f"{table}.{sub}".lower()) or rules.get(sub) or rules.get(name.lower())
            if rule is None or rule == "keep":
                nested = self._protect(rules, table, f"{path}.{name}", children[i])
                if nested is not None:
                    children[i], changed = nested, True
                continue
            changed = True
            if rule == "drop":
                del names[i], children[i]
                continue
            target = name if name.lower().endswith(HASH_SUFFIX) else name + HASH_SUFFIX
            hashed = self._hash(pa.chunked_array([children[i]]), rule)
            lowered = [n.lower() for n in names]
            if target.lower() in lowered and lowered.index(target.lower()) != i:
                j = lowered.index(target.lower())
                children[j] = pc.coalesce(children[j].cast(pa.string()), hashed)
                del names[i], children[i]
            else:
                names[i], children[i] = target, hashed
        if not changed:
            return None
        if not names:
            return pa.nulls(len(array))
        mask = array.is_null() if array.null_count else None
        return pa.StructArray.from_arrays(children, names=names, mask=mask)

    def _plan(self, source: str, table: str, names: list[str]) -> list[tuple[int, str, PiiKind]]:
        key = (source, table, tuple(names))
        plan = self._plans.get(key)
        if plan is None:
            rules = self.rules(source)
            plan = []
            for index, name in enumerate(names):
                kind = rules.get(f"{table}.{name}".lower()) or rules.get(name.lower())
                if kind is not None and kind != "keep":
                    plan.append((index, name, kind))
            self._plans[key] = plan
        return plan

    def _hash(self, column: pa.ChunkedArray, kind: PiiKind) -> pa.Array:
        if kind == "email":
            return self.hasher.email_array(column, keep_hashed=True)
        if kind == "phone":
            return self.hasher.phone_array(column, keep_hashed=True)
        return self.hasher.text_array(column, keep_hashed=True)
