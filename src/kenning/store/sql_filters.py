"""SQL for the access pre-filter and caller filters, shared by the SQL backends.

The principal's clause is built here and always ANDed with the caller's filter clause;
a caller's filter can only narrow what the principal may read, never widen it. Every
value is a bound parameter; metadata keys are validated against ``_KEY`` because JSON
paths cannot be bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kenning.errors import InvalidFilterError
from kenning.types import Principal, SearchFilter

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_FILTER_VALUES = 1000


@dataclass(slots=True)
class Clause:
    """A WHERE fragment over the ``documents`` table aliased ``d``, with its parameters."""

    sql: str
    params: list[object] = field(default_factory=list)

    def and_(self, other: Clause) -> Clause:
        return Clause(f"({self.sql}) AND ({other.sql})", [*self.params, *other.params])


def access_clause(principal: Principal) -> Clause:
    """Documents of the principal's tenant that its ACL lets the principal read."""
    tenant = Clause("d.tenant = ?", [principal.tenant])
    if principal.is_system:
        return tenant
    names: list[object] = []
    ors = ["d.acl_public = 1"]
    if principal.user_id is not None:
        ors.append(
            "EXISTS (SELECT 1 FROM acl_entries a WHERE a.doc_pk = d.pk "
            "AND a.kind = 'user' AND a.name = ?)"
        )
        names.append(principal.user_id)
    if principal.groups:
        groups = sorted(principal.groups)
        marks = ",".join("?" * len(groups))
        ors.append(
            "EXISTS (SELECT 1 FROM acl_entries a WHERE a.doc_pk = d.pk "
            f"AND a.kind = 'group' AND a.name IN ({marks}))"
        )
        names.extend(groups)
    return tenant.and_(Clause(" OR ".join(ors), names))


def filter_clause(flt: SearchFilter | None) -> Clause:
    """The caller's restrictions; ``1 = 1`` when there are none."""
    if flt is None or flt.is_empty:
        return Clause("1 = 1")
    parts: list[Clause] = []
    if flt.document_ids is not None:
        parts.append(_in_clause("d.id", sorted(flt.document_ids)))
    if flt.formats is not None:
        parts.append(_in_clause("d.format", sorted(flt.formats)))
    if flt.source_prefix is not None:
        parts.append(
            Clause("substr(d.source, 1, ?) = ?", [len(flt.source_prefix), flt.source_prefix])
        )
    for key, value in sorted(flt.metadata.items()):
        if not _KEY.match(key):
            raise InvalidFilterError(f"invalid metadata key {key!r}")
        parts.append(Clause(f"json_extract(d.metadata, '$.\"{key}\"') = ?", [value]))
    result = parts[0]
    for part in parts[1:]:
        result = result.and_(part)
    return result


def _in_clause(column: str, values: list[str]) -> Clause:
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidFilterError(
            f"too many values in a filter ({len(values)} > {MAX_FILTER_VALUES})"
        )
    if not values:
        return Clause("0 = 1")
    return Clause(f"{column} IN ({','.join('?' * len(values))})", list(values))
