"""Property: through the HTTP API, nobody ever gets a document, passage or citation
outside what the document ACLs let them read, and deleted documents never come back.

Each example builds two fresh tenants with generated accounts (roles, group
memberships) and documents (generated ACLs: public, ``user:X``, ``group:G``, naming
accounts, non-members and people who do not exist; both tenants use the same user and
group names). Every document shares the keyword ``quokka``, so every query matches
them all, and carries a unique token so a leak in any returned text can be spotted.
The oracle computes who may read what from the generated ACL specs alone (it never
calls ``Acl.allows``), and the checks run in both directions: nothing unreadable is
returned, and everything readable that matches is (a filter that was too strict fails
too).

One app serves the whole module (the embedding model loads once); examples never
share a tenant, and everything an example does is drawn up front (nothing drawn
depends on ids or names the server hands out, so failures shrink and replay). Accounts
share one real argon2 hash and call the API with their own API keys (a credential path
as real as a login, without ~0.4 s of argon2 per account and example); logins are
tested in test_credentials.py.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from kenning.api.app import create_app
from kenning.auth.models import ROLE_PERMISSIONS, Role, User
from kenning.auth.secrets import hash_password
from tests.api.conftest import PASSWORD, Service, job_worker, make_settings

KEYWORD = "quokka"
UPLOADER = "ed"
MEMBERS = ("amy", "bo", "cy")
GROUPS = ("eng", "ops", "legal")
NOBODY = "zed"  # named in ACLs, has no account anywhere
NO_GROUP = "board"  # named in ACLs, exists in no tenant
ACL_ENTRIES = (
    "public",
    *(f"user:{name}" for name in (*MEMBERS, UPLOADER, NOBODY)),
    *(f"group:{group}" for group in (*GROUPS, NO_GROUP)),
)
SEARCH_K = 100  # far more than a tenant's chunks: every readable document must come back

_EXAMPLES = itertools.count()


# -- the generated model ----------------------------------------------------------------


@dataclass(frozen=True)
class DocPlan:
    acl: tuple[str, ...]
    """The upload form's ACL specs; none at all means tenant-wide."""
    probe: bool
    """Its token is part of the keyword probe query."""
    delete: bool
    """The deletion property tries to delete it..."""
    by_reader: bool
    """...as an editor or admin who may read it (else as anyone else, who must fail)..."""
    actor: int
    """...namely the candidate at this index (modulo their number)."""


@dataclass(frozen=True)
class TenantPlan:
    accounts: tuple[tuple[str, Role, frozenset[str]], ...]
    """(user name, role, groups); the first is the uploading editor."""
    docs: tuple[DocPlan, ...]


@dataclass(frozen=True)
class Member:
    tenant: str
    name: str
    role: Role
    groups: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.tenant}/{self.name}"


@dataclass
class Doc:
    tenant: str
    token: str
    plan: DocPlan
    id: str = ""

    @property
    def acl(self) -> tuple[str, ...]:
        return self.plan.acl

    @property
    def filename(self) -> str:
        return f"{self.token}.md"

    @property
    def title(self) -> str:
        return f"Quokka rota {self.token}"

    @property
    def body(self) -> bytes:
        return (
            f"# {self.title}\n\n"
            f"The {KEYWORD} rota for {self.token} lists who feeds the animals at weekends.\n"
            f"Ask the keeper of {self.token} before swapping a {KEYWORD} shift.\n"
        ).encode()


@dataclass
class World:
    members: list[Member] = field(default_factory=list)
    docs: list[Doc] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)

    def may_read(self, member: Member, doc: Doc) -> bool:
        """The oracle, from the specs as uploaded: no spec at all means tenant-wide."""
        if doc.id in self.deleted or doc.tenant != member.tenant:
            return False
        specs = set(doc.acl)
        return (
            not specs
            or "public" in specs
            or f"user:{member.name}" in specs
            or any(f"group:{group}" in specs for group in member.groups)
        )

    def readable(self, member: Member) -> set[str]:
        return {d.id for d in self.docs if self.may_read(member, d)}

    def forbidden_tokens(self, member: Member) -> list[str]:
        return [d.token for d in self.docs if not self.may_read(member, d)]

    def doc(self, doc_id: str) -> Doc:
        return next(d for d in self.docs if d.id == doc_id)

    def probe(self) -> list[Doc]:
        """The documents whose tokens make the probe query (at least one, of any tenant)."""
        return [d for d in self.docs if d.plan.probe] or self.docs[:1]


_groups = st.frozensets(st.sampled_from(GROUPS), max_size=2)
_doc_plans = st.builds(
    DocPlan,
    acl=st.lists(st.sampled_from(ACL_ENTRIES), unique=True, max_size=3).map(tuple),
    probe=st.booleans(),
    delete=st.booleans(),
    by_reader=st.booleans(),
    actor=st.integers(0, 7),
)


@st.composite
def tenant_plans(draw: st.DrawFn, max_members: int, max_docs: int) -> TenantPlan:
    names = draw(st.lists(st.sampled_from(MEMBERS), unique=True, max_size=max_members))
    accounts = [(UPLOADER, Role.EDITOR, draw(_groups))]
    accounts += [(name, draw(st.sampled_from(Role)), draw(_groups)) for name in names]
    docs = draw(st.lists(_doc_plans, min_size=1, max_size=max_docs))
    return TenantPlan(tuple(accounts), tuple(docs))


def two_tenants(max_members: int, max_docs: int) -> st.SearchStrategy[list[TenantPlan]]:
    """The tenant under scrutiny and a smaller neighbour with the same names."""
    return st.tuples(
        tenant_plans(max_members=max_members, max_docs=max_docs),
        tenant_plans(max_members=max_members - 1, max_docs=max_docs - 1),
    ).map(list)


free_queries = st.one_of(
    st.just(f"{KEYWORD} rota"),
    st.text(string.ascii_letters + string.digits + " ", min_size=1, max_size=40).filter(str.strip),
)


# -- the service ------------------------------------------------------------------------

DATABASES = ("sqlite", "postgres")
PASSWORD_HASH = hash_password(PASSWORD)


@pytest.fixture(scope="module")
def acl_service(
    tmp_path_factory: pytest.TempPathFactory, module_database: str
) -> Iterator[Service]:
    """One app for the module, no accounts: each example creates its own tenants."""
    settings_ = make_settings(Path(tmp_path_factory.mktemp("acl")) / "data")
    app = create_app(settings_)
    with TestClient(app) as client, job_worker(app.state.components):
        yield Service(app, client, settings_)


def build_world(svc: Service, plans: list[TenantPlan]) -> World:
    """Create the planned tenants, accounts and documents through the API; map ids."""
    n = next(_EXAMPLES)
    comps, repo = svc.comps, svc.comps.auth.repo
    world = World()
    for letter, plan in zip("ab", plans, strict=True):
        tenant = f"acl{n}{letter}"
        repo.ensure_tenant(tenant)
        for group in GROUPS:
            repo.create_group(tenant, group)
        for name, role, groups in plan.accounts:
            # Users get one shared argon2 hash and authenticate with API keys: a real
            # credential path without paying argon2 per account and per example.
            repo.create_user(User(tenant, name, role), PASSWORD_HASH)
            for group in groups:
                repo.set_membership(tenant, group, name, True)
            member = Member(tenant, name, role, groups)
            _, key = comps.auth.create_key(
                "test", tenant, name, name="acl", scopes=ROLE_PERMISSIONS[role], days=1
            )
            svc.tokens[member.key] = key
            world.members.append(member)
        # Fixed width, so no token is a substring of another.
        docs = [Doc(tenant, f"kt{n:05d}{letter}{i:02d}", p) for i, p in enumerate(plan.docs)]
        upload(svc, docs)
        world.docs += docs
    return world


def upload(svc: Service, docs: list[Doc]) -> None:
    """One upload per document (each has its own ACL), all queued before waiting; then
    the ids from the store, the test-side oracle (no API caller may see everything)."""
    jobs = []
    for doc in docs:
        uploader = f"{doc.tenant}/{UPLOADER}"
        response = svc.client.post(
            "/v1/documents",
            headers=svc.auth(uploader),
            files=[("files", (doc.filename, doc.body))],
            data={"acl": list(doc.acl)},
        )
        assert response.status_code == 202, response.text
        jobs.append((uploader, response.json()["id"]))
    for uploader, job_id in jobs:
        job = svc.wait(uploader, job_id)
        assert job["status"] == "done", job
        report = job["report"]
        assert isinstance(report, dict)
        assert report["added"] == 1, job
    for doc in docs:
        stored = [
            d
            for d in svc.comps.store.list_documents(doc.tenant)
            if d.metadata.get("filename") == doc.filename
        ]
        assert len(stored) == 1, stored
        assert stored[0].title == doc.title
        doc.id = stored[0].id


# -- the checks -------------------------------------------------------------------------


def post(svc: Service, member: Member, path: str, body: dict[str, Any]) -> Any:
    response = svc.client.post(path, headers=svc.auth(member.key), json=body)
    assert response.status_code == 200, f"{member.key} POST {path} {body}: {response.text}"
    return response.json()


def assert_no_leak(world: World, member: Member, texts: list[str], where: str) -> None:
    joined = "\n".join(texts)
    leaked = [token for token in world.forbidden_tokens(member) if token in joined]
    assert not leaked, f"{member.key} got text of unreadable documents {leaked} via {where}"


def search_ids(svc: Service, world: World, member: Member, body: dict[str, Any]) -> set[str]:
    hits = post(svc, member, "/v1/search", body)["hits"]
    ids = [h["document_id"] for h in hits]
    readable = world.readable(member)
    assert set(ids) <= readable, f"{member.key} searched {body}: leaked {set(ids) - readable}"
    for hit in hits:
        assert hit["title"] == world.doc(hit["document_id"]).title
    assert_no_leak(world, member, [h["text"] + h["title"] for h in hits], f"search {body}")
    return set(ids)


def check_documents(svc: Service, world: World, member: Member, opened: list[Doc]) -> None:
    """List: exactly the readable documents. Read and download each of ``opened``: the
    readable ones, byte for byte; 404 for every other one (other tenant's, deleted)."""
    headers = svc.auth(member.key)
    readable = world.readable(member)
    response = svc.client.get("/v1/documents", headers=headers)
    assert response.status_code == 200, response.text
    listed = response.json()
    ids = [d["id"] for d in listed]
    assert len(ids) == len(set(ids))
    assert set(ids) == readable, f"{member.key} listed {set(ids)}, may read {readable}"
    for entry in listed:
        doc = world.doc(entry["id"])
        assert entry["title"] == doc.title
        if member.role is Role.VIEWER:
            assert entry["acl"] is None
        else:
            specs = set(doc.acl)
            assert entry["acl"]["public"] == (not specs or "public" in specs)
            assert set(entry["acl"]["users"]) == {s[5:] for s in specs if s.startswith("user:")}
            assert set(entry["acl"]["groups"]) == {s[6:] for s in specs if s.startswith("group:")}
    for doc in opened:
        got = svc.client.get(f"/v1/documents/{doc.id}", headers=headers)
        file = svc.client.get(f"/v1/documents/{doc.id}/download", headers=headers)
        if doc.id in readable:
            assert got.status_code == 200, f"{member.key} GET {doc.id}: {got.text}"
            assert got.json()["id"] == doc.id
            assert file.status_code == 200, f"{member.key} download {doc.id}: {file.text}"
            assert file.content == doc.body
        else:
            assert got.status_code == 404, f"{member.key} GET {doc.token}: {got.text}"
            assert file.status_code == 404, f"{member.key} download {doc.token}: {file.text}"
            assert doc.token not in got.text + file.text


def check_search(svc: Service, world: World, member: Member, query: str) -> None:
    readable = world.readable(member)
    probe = world.probe()
    every_id = [d.id for d in world.docs]
    # Hybrid: the dense leg ranks every readable chunk, so with a large k all come back.
    assert search_ids(svc, world, member, {"query": query, "k": SEARCH_K}) == readable
    # A filter naming every document (other tenant's and deleted ones too) cannot widen.
    body = {"query": query, "k": SEARCH_K, "filter": {"document_ids": every_id}}
    assert search_ids(svc, world, member, body) == readable
    # Keyword: every document has the keyword; each token names exactly one document.
    body = {"query": KEYWORD, "k": SEARCH_K, "mode": "keyword"}
    assert search_ids(svc, world, member, body) == readable
    body = {"query": " ".join(d.token for d in probe), "k": SEARCH_K, "mode": "keyword"}
    assert search_ids(svc, world, member, body) == {d.id for d in probe} & readable


def check_chat(svc: Service, world: World, member: Member) -> None:
    readable = world.readable(member)
    question = f"Who keeps the {KEYWORD} rota for {world.probe()[0].token}?"
    answer = post(svc, member, "/v1/chat", {"question": question})
    sources = [p["document_id"] for p in answer["sources"]]
    cited = [c["passage"]["document_id"] for c in answer["citations"]]
    where = f"chat {question!r}"
    assert set(sources) <= readable, f"{member.key} {where}: sources {set(sources) - readable}"
    assert set(cited) <= readable, f"{member.key} {where}: citations {set(cited) - readable}"
    assert bool(sources) == bool(readable), f"{member.key} {where}: {answer}"
    if not readable:
        assert answer["abstained"], answer
        assert not cited
    passages = [*answer["sources"], *(c["passage"] for c in answer["citations"])]
    texts = [answer["text"], *(p["text"] + p["title"] for p in passages)]
    assert_no_leak(world, member, texts, where)


def check_everyone(svc: Service, world: World, query: str, opened: list[Doc]) -> None:
    for member in world.members:
        check_documents(svc, world, member, opened)
        check_search(svc, world, member, query)
        check_chat(svc, world, member)


# -- the properties ---------------------------------------------------------------------

PROPERTY = settings(
    deadline=None,
    database=None,
    # No explain phase: each example costs a second or two of real requests.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(PROPERTY, max_examples=12)
@given(plans=two_tenants(max_members=3, max_docs=4), query=free_queries)
def test_every_view_is_exactly_what_the_acl_admits(
    acl_service: Service, plans: list[TenantPlan], query: str
) -> None:
    note(f"plans={plans!r}\nquery={query!r}")
    world = build_world(acl_service, plans)
    own = [{d.id for d in world.docs if d.tenant == m.tenant} for m in world.members]
    views = [world.readable(m) for m in world.members]
    event("someone reads nothing", str(not all(views)))
    event(
        "someone reads part of their tenant",
        str(any(v and v < o for v, o in zip(views, own, strict=True))),
    )
    check_everyone(acl_service, world, query, opened=world.docs)


def expected_delete_status(world: World, actor: Member, doc: Doc) -> int:
    if actor.role is Role.VIEWER:
        return 403
    return 204 if world.may_read(actor, doc) else 404


@settings(PROPERTY, max_examples=8)
@given(plans=two_tenants(max_members=2, max_docs=4), query=free_queries)
def test_deleted_documents_never_come_back(
    acl_service: Service, plans: list[TenantPlan], query: str
) -> None:
    note(f"plans={plans!r}\nquery={query!r}")
    svc = acl_service
    world = build_world(svc, plans)
    for member in world.members:  # search first, so the mirrors and ACL cache are warm
        assert search_ids(svc, world, member, {"query": query, "k": SEARCH_K}) == (
            world.readable(member)
        )

    for doc in world.docs:
        if not doc.plan.delete:
            continue
        readers = [m for m in world.members if m.role is not Role.VIEWER and world.may_read(m, doc)]
        others = [m for m in world.members if m not in readers]  # never empty: other tenant
        pool = readers if readers and doc.plan.by_reader else others
        actor = pool[doc.plan.actor % len(pool)]
        expected = expected_delete_status(world, actor, doc)
        response = svc.client.delete(f"/v1/documents/{doc.id}", headers=svc.auth(actor.key))
        event(f"DELETE {expected}")
        assert response.status_code == expected, (actor, doc, response.text)
        if expected == 204:
            world.deleted.add(doc.id)
            again = svc.client.delete(f"/v1/documents/{doc.id}", headers=svc.auth(actor.key))
            assert again.status_code == 404, (actor, doc, again.text)
        stored = svc.comps.store.get_document(doc.tenant, doc.id)
        assert (stored is None) == (doc.id in world.deleted), (actor, doc, stored)

    check_everyone(svc, world, query, opened=world.docs)

    # Another write moves the index on; what was deleted must stay gone.
    first = world.docs[0]
    late = Doc(first.tenant, first.token[:-2] + "99", DocPlan((), True, False, False, 0))
    upload(svc, [late])
    world.docs.append(late)
    gone = [d for d in world.docs if d.id in world.deleted]
    check_everyone(svc, world, query, opened=[late, *gone])
