"""The Store contract as a mixin: every backend's test class inherits it and provides a
``store`` fixture. The PostgreSQL backend runs the same suite against a real server."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kenning.errors import InvalidFilterError, NotFoundError, StoreError
from kenning.store.analyzer import query_terms
from kenning.store.base import DocumentWrite, Store
from kenning.types import Acl, ChunkDraft, Document, Principal, SearchFilter

DIMS = 384


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
    return v / np.linalg.norm(v)


def make_write(
    source: str,
    texts: list[str],
    *,
    tenant: str = "t1",
    acl: Acl | None = None,
    seed: int = 0,
    content_hash: str | None = None,
    metadata: dict[str, str] | None = None,
    fmt: str = "md",
) -> DocumentWrite:
    text = "\n\n".join(texts)
    chunks, offset = [], 0
    for i, t in enumerate(texts):
        chunks.append(
            ChunkDraft(
                ordinal=i,
                text=t,
                indexed_text=t,
                start=offset,
                end=offset + len(t),
                page=1,
                section=("Intro",),
            )
        )
        offset += len(t) + 2
    doc = Document(
        id=Document.make_id(tenant, source),
        tenant=tenant,
        source=source,
        title=source.rsplit("/", 1)[-1],
        content_hash=content_hash or f"h-{text}",
        format=fmt,
        acl=acl or Acl(),
        metadata=metadata or {},
        text=text,
    )
    vectors = np.stack([unit(seed * 1000 + i) for i in range(len(texts))])
    return DocumentWrite(doc, chunks, vectors)


ALICE = Principal(tenant="t1", user_id="alice", groups=frozenset({"eng"}))
BOB = Principal(tenant="t1", user_id="bob", groups=frozenset({"sales"}))
SYSTEM = Principal.system("t1")


class StoreContract:
    """Behaviour every ``Store`` backend must have."""

    def test_write_then_read_back(self, store: Store) -> None:
        w = make_write("/kb/a.md", ["alpha beta", "gamma delta"], metadata={"team": "hr"})
        assert store.replace_documents([w]) == 2
        doc = store.get_document("t1", w.document.id)
        assert doc is not None
        assert doc.text == "alpha beta\n\ngamma delta"
        assert doc.metadata == {"team": "hr"}
        assert [d.source for d in store.list_documents("t1")] == ["/kb/a.md"]
        assert store.stats("t1").chunks == 2

    def test_replace_is_whole(self, store: Store) -> None:
        store.replace_documents([make_write("/kb/a.md", ["old walrus text", "old tail"])])
        w = make_write("/kb/a.md", ["new narwhal text"], seed=5, content_hash="v2")
        store.replace_documents([w])
        assert store.keyword_search("walrus", principal=SYSTEM, k=10) == []
        hits = store.keyword_search("narwhal", principal=SYSTEM, k=10)
        assert [h.chunk.text for h in hits] == ["new narwhal text"]
        assert store.stats("t1").chunks == 1
        dense = store.dense_search(unit(0).tolist(), principal=SYSTEM, k=10)
        assert [h.chunk.text for h in dense] == ["new narwhal text"]
        assert store.versions("t1")["/kb/a.md"].content_hash == "v2"

    def test_failed_write_keeps_old_version(self, store: Store) -> None:
        store.replace_documents([make_write("/kb/a.md", ["original otter"])])
        bad = make_write("/kb/a.md", ["broken one", "broken two"])
        broken = DocumentWrite(bad.document, bad.chunks, bad.vectors[:1])
        with pytest.raises(StoreError):
            store.replace_documents([make_write("/kb/b.md", ["fine"]), broken])
        assert [h.chunk.text for h in store.keyword_search("otter", principal=SYSTEM, k=5)] == [
            "original otter"
        ]
        assert store.stats("t1").documents == 1  # b.md rolled back with the broken write

    def test_delete_removes_from_every_leg(self, store: Store) -> None:
        w = make_write("/kb/a.md", ["penguin facts"], seed=3)
        store.replace_documents([w, make_write("/kb/b.md", ["other"], seed=4)])
        assert store.delete_documents("t1", [w.document.id, "nope"]) == 1
        assert store.get_document("t1", w.document.id) is None
        assert store.keyword_search("penguin", principal=SYSTEM, k=5) == []
        dense = store.dense_search(unit(3000).tolist(), principal=SYSTEM, k=5)
        assert all(h.chunk.document_id != w.document.id for h in dense)

    def test_dense_search_is_exact(self, store: Store) -> None:
        writes = [
            make_write(f"/kb/{i}.md", [f"text {i} {j}" for j in range(5)], seed=i)
            for i in range(20)
        ]
        store.replace_documents(writes)
        query = unit(777)
        matrix = np.concatenate([w.vectors for w in writes])
        expected = sorted((matrix @ query).tolist(), reverse=True)[:7]
        hits = store.dense_search(query.tolist(), principal=SYSTEM, k=7)
        assert [round(h.score, 5) for h in hits] == [round(s, 5) for s in expected]

    def test_keyword_ranks_by_bm25(self, store: Store) -> None:
        store.replace_documents(
            [
                make_write(
                    "/kb/a.md", ["the vacation policy covers vacation days and vacation pay"]
                ),
                make_write("/kb/b.md", ["expense policy for travel"], seed=1),
                make_write("/kb/c.md", ["nothing relevant here"], seed=2),
            ]
        )
        hits = store.keyword_search("vacation policy", principal=SYSTEM, k=10)
        assert [h.source for h in hits] == ["/kb/a.md", "/kb/b.md"]
        assert hits[0].score > hits[1].score > 0

    def test_keyword_idf_matches_bm25_statistics(self, store: Store) -> None:
        store.replace_documents(
            [
                make_write("/kb/a.md", ["otter otter river", "river bank"]),
                make_write("/kb/b.md", ["river delta", "mountain"], seed=1),
                make_write("/kb/c.md", ["lake", "pond"], seed=2),
            ]
        )
        idf = store.keyword_idf(query_terms("otter river walrus"))
        # 6 chunks: otter in 1, river in 3 (idf 0, floored), walrus in none (absent).
        assert set(idf) == {"otter", "river"}
        assert idf["otter"] == pytest.approx(math.log((6 - 1 + 0.5) / (1 + 0.5)))
        assert idf["river"] == pytest.approx(1e-6)
        store.delete_documents("t1", [Document.make_id("t1", "/kb/b.md")])
        after = store.keyword_idf(query_terms("otter mountain"))
        assert after == {"otter": pytest.approx(math.log((4 - 1 + 0.5) / (1 + 0.5)))}

    @pytest.mark.parametrize(
        "query", ['"unbalanced', "a*", "NEAR(x y)", "col:value", "-x", "^ OR AND"]
    )
    def test_keyword_query_syntax_is_inert(self, store: Store, query: str) -> None:
        store.replace_documents([make_write("/kb/a.md", ["value x y"])])
        store.keyword_search(query, principal=SYSTEM, k=5)  # must not raise

    def test_tenants_never_mix(self, store: Store) -> None:
        theirs = make_write("/kb/secret.md", ["merger plans"], tenant="t2", seed=9)
        store.replace_documents([theirs, make_write("/kb/ours.md", ["merger rumours"])])
        flt = SearchFilter(document_ids=frozenset({theirs.document.id}))
        for principal in (SYSTEM, ALICE):
            assert all(
                h.source == "/kb/ours.md"
                for h in store.keyword_search("merger", principal=principal, k=10)
            )
            assert store.keyword_search("merger", principal=principal, k=10, filter=flt) == []
            assert (
                store.dense_search(unit(9000).tolist(), principal=principal, k=10, filter=flt) == []
            )
        assert store.get_document("t1", theirs.document.id) is None
        assert store.get_chunks("t1", [1, 2, 3, 4]) == store.get_chunks("t1", [1, 2, 3, 4])
        assert all(
            c.document_id != theirs.document.id for c in store.get_chunks("t1", range(1, 10))
        )

    def test_acl_prefilter_in_both_legs(self, store: Store) -> None:
        store.replace_documents(
            [
                make_write(
                    "/kb/eng.md",
                    ["roadmap eng"],
                    acl=Acl(public=False, groups=frozenset({"eng"})),
                    seed=1,
                ),
                make_write(
                    "/kb/bob.md",
                    ["roadmap bob"],
                    acl=Acl(public=False, users=frozenset({"bob"})),
                    seed=2,
                ),
                make_write("/kb/all.md", ["roadmap all"], seed=3),
            ]
        )

        def visible(p: Principal) -> tuple[set[str], set[str]]:
            kw = {h.source for h in store.keyword_search("roadmap", principal=p, k=10)}
            dn = {h.source for h in store.dense_search(unit(1000).tolist(), principal=p, k=10)}
            return kw, dn

        assert visible(ALICE) == ({"/kb/eng.md", "/kb/all.md"},) * 2
        assert visible(BOB) == ({"/kb/bob.md", "/kb/all.md"},) * 2
        assert visible(Principal(tenant="t1", user_id="eve")) == ({"/kb/all.md"},) * 2
        assert visible(SYSTEM)[0] == {"/kb/eng.md", "/kb/bob.md", "/kb/all.md"}

    def test_caller_filter_narrows_never_widens(self, store: Store) -> None:
        secret = make_write(
            "/kb/s.md", ["salary table"], acl=Acl(public=False, users=frozenset({"bob"}))
        )
        store.replace_documents(
            [secret, make_write("/kb/p.pdf", ["salary policy"], seed=1, fmt="pdf")]
        )
        widen = SearchFilter(document_ids=frozenset({secret.document.id}))
        assert store.keyword_search("salary", principal=ALICE, k=10, filter=widen) == []
        pdf_only = SearchFilter(formats=frozenset({"pdf"}))
        assert [
            h.source for h in store.keyword_search("salary", principal=BOB, k=10, filter=pdf_only)
        ] == ["/kb/p.pdf"]
        prefix = SearchFilter(source_prefix="/kb/s")
        assert [
            h.source
            for h in store.dense_search(unit(0).tolist(), principal=BOB, k=10, filter=prefix)
        ] == ["/kb/s.md"]

    def test_selective_filter_keeps_recall(self, store: Store) -> None:
        writes = [
            make_write(
                f"/kb/{i:03}.md",
                [f"chunk {i}"],
                seed=i,
                metadata={"team": "a" if i % 50 == 0 else "b"},
            )
            for i in range(300)
        ]
        store.replace_documents(writes)
        flt = SearchFilter(metadata={"team": "a"})
        hits = store.dense_search(unit(12345).tolist(), principal=SYSTEM, k=10, filter=flt)
        assert sorted(h.source for h in hits) == [f"/kb/{i:03}.md" for i in range(0, 300, 50)]

    @pytest.mark.parametrize("key", ["a') OR 1=1 --", 'x"y', "", "$.a", "a b"])
    def test_malicious_metadata_key_is_refused(self, store: Store, key: str) -> None:
        with pytest.raises(InvalidFilterError):
            store.keyword_search(
                "x", principal=SYSTEM, k=5, filter=SearchFilter(metadata={key: "v"})
            )

    def test_malicious_filter_values_are_bound(self, store: Store) -> None:
        store.replace_documents([make_write("/kb/a.md", ["data here"])])
        evil = SearchFilter(
            source_prefix="' OR '1'='1",
            metadata={"team": "x' OR '1'='1"},
            formats=frozenset({"md' OR 1=1 --"}),
        )
        assert store.keyword_search("data", principal=SYSTEM, k=5, filter=evil) == []
        assert store.stats().documents == 1

    def test_set_acl(self, store: Store) -> None:
        w = make_write("/kb/a.md", ["quarterly numbers"])
        store.replace_documents([w])
        store.set_acl("t1", w.document.id, Acl(public=False, users=frozenset({"bob"})))
        assert store.keyword_search("quarterly", principal=ALICE, k=5) == []
        assert len(store.keyword_search("quarterly", principal=BOB, k=5)) == 1
        assert store.versions("t1")["/kb/a.md"].acl == Acl(public=False, users=frozenset({"bob"}))
        with pytest.raises(NotFoundError):
            store.set_acl("t2", w.document.id, Acl())

    def test_cached_vectors(self, store: Store) -> None:
        from kenning.store.sqlite import text_hash

        w = make_write("/kb/a.md", ["cache me"], seed=42)
        store.replace_documents([w])
        found = store.cached_vectors([text_hash("cache me"), text_hash("absent")])
        assert list(found) == [text_hash("cache me")]
        np.testing.assert_allclose(np.asarray(found[text_hash("cache me")]), w.vectors[0])

    def test_bind_embedder_refuses_another_model(self, store: Store) -> None:
        store.bind_embedder("model-a", DIMS)
        store.bind_embedder("model-a", DIMS)
        with pytest.raises(StoreError, match="model-a"):
            store.bind_embedder("model-b", DIMS)
