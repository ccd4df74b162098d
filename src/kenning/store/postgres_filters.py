"""The access pre-filter and caller filters in PostgreSQL's dialect (``%s`` parameters).

Same semantics as ``sql_filters`` (the SQLite dialect), clause for clause: the principal's
clause is always ANDed with the caller's, so a filter narrows and never widens; every
value is bound; metadata keys must match the same strict grammar (here they could be
bound too, but a key SQLite refuses must be refused everywhere).
"""

from __future__ import annotations

from kenning.errors import InvalidFilterError
from kenning.store.sql_filters import _KEY, MAX_FILTER_VALUES, Clause
from kenning.types import Principal, SearchFilter


def access_clause(principal: Principal) -> Clause:
    """Documents (alias ``d``) of the principal's tenant whose ACL lets the principal read."""
    tenant = Clause("d.tenant = %s", [principal.tenant])
    if principal.is_system:
        return tenant
    ors = ["d.acl_public"]
    names: list[object] = []
    if principal.user_id is not None:
        ors.append(
            "EXISTS (SELECT 1 FROM acl_entries a WHERE a.doc_pk = d.pk"
            " AND a.kind = 'user' AND a.name = %s)"
        )
        names.append(principal.user_id)
    if principal.groups:
        ors.append(
            "EXISTS (SELECT 1 FROM acl_entries a WHERE a.doc_pk = d.pk"
            " AND a.kind = 'group' AND a.name = ANY(%s))"
        )
        names.append(sorted(principal.groups))
    return tenant.and_(Clause(" OR ".join(ors), names))


def filter_clause(flt: SearchFilter | None) -> Clause:
    """The caller's restrictions; ``TRUE`` when there are none."""
    if flt is None or flt.is_empty:
        return Clause("TRUE")
    parts: list[Clause] = []
    if flt.document_ids is not None:
        parts.append(_any_clause("d.id", sorted(flt.document_ids)))
    if flt.formats is not None:
        parts.append(_any_clause("d.format", sorted(flt.formats)))
    if flt.source_prefix is not None:
        parts.append(Clause("starts_with(d.source, %s)", [flt.source_prefix]))
    for key, value in sorted(flt.metadata.items()):
        if not _KEY.match(key):
            raise InvalidFilterError(f"invalid metadata key {key!r}")
        parts.append(Clause("d.metadata ->> %s = %s", [key, value]))
    result = parts[0]
    for part in parts[1:]:
        result = result.and_(part)
    return result


def _any_clause(column: str, values: list[str]) -> Clause:
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidFilterError(
            f"too many values in a filter ({len(values)} > {MAX_FILTER_VALUES})"
        )
    return Clause(f"{column} = ANY(%s)", [values])
