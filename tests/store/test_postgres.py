"""The Store contract against a real PostgreSQL + pgvector, plus what only it can get
wrong: the dense leg's plan choice under selective filters (recall against exact
search), a newer schema, NUL characters, and a missing driver."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from kenning.errors import ConfigurationError, StoreError
from kenning.store.base import DocumentWrite
from kenning.store.postgres import PostgresStore
from kenning.store.postgres_search import DensePlan
from kenning.store.sqlite import SQLiteStore
from kenning.types import Acl, ChunkDraft, Document, Principal, SearchFilter
from tests.store.contract import DIMS, SYSTEM, StoreContract, make_write


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_dsn: str) -> Iterator[PostgresStore]:
        store = PostgresStore(postgres_dsn, pool_size=2)
        store.warm_up()
        yield store
        store.close()


def _random_corpus(n: int, seed: int = 7) -> tuple[list[DocumentWrite], np.ndarray]:
    """``n`` one-chunk documents with random unit vectors; ``team`` admits 1 % / 10 %."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writes = []
    for i in range(n):
        doc = Document(
            id=Document.make_id("t1", f"/r/{i}"),
            tenant="t1",
            source=f"/r/{i}",
            title=str(i),
            content_hash=str(i),
            format="md",
            acl=Acl(),
            metadata={"p1": str(i % 100 == 0), "p10": str(i % 10 == 0)},
            text=f"row {i}",
        )
        chunk = ChunkDraft(ordinal=0, text=doc.text, indexed_text=doc.text, start=0, end=5)
        writes.append(DocumentWrite(doc, [chunk], vectors[i : i + 1]))
    return writes, vectors


def test_filtered_dense_recall(postgres_dsn: str) -> None:
    """Recall@10 against exact search when filters admit 1 %, 10 % and 100 % of 3000
    random vectors (random 384-d vectors are HNSW's hard case: no clusters to follow).

    ``exact_below`` is lowered so that every filter takes the HNSW path it would take at
    production scale; the 1 % filter then often falls back to the exact scan, and must
    never come back short. Measured (30 queries; ef_search 40/100/200/400 for 100 %):
    1 % 1.0, 10 % 1.0, 100 % 0.59/0.88/0.97/1.0, hence the default of 200."""
    n, k, queries = 3000, 10, 30
    writes, vectors = _random_corpus(n)
    store = PostgresStore(postgres_dsn, exact_below=20)
    try:
        for start in range(0, n, 500):
            store.replace_documents(writes[start : start + 500])
        rng = np.random.default_rng(1)
        report = {}
        for name, flt, rows in (
            ("1%", SearchFilter(metadata={"p1": "True"}), np.arange(0, n, 100)),
            ("10%", SearchFilter(metadata={"p10": "True"}), np.arange(0, n, 10)),
            ("100%", None, np.arange(n)),
        ):
            recalls, plans = [], set()
            for _ in range(queries):
                q = rng.standard_normal(DIMS).astype(np.float32)
                q /= np.linalg.norm(q)
                exact = rows[np.argsort(-(vectors[rows] @ q), kind="stable")[:k]]
                got = store.dense_scores(q.tolist(), principal=SYSTEM, k=k, filter=flt)
                expected = {writes[i].document.source for i in exact}
                hits = store.load_hits(SYSTEM, got)
                assert len(hits) == k  # never short
                recalls.append(len(expected & {h.source for h in hits}) / k)
                plans.add(store.last_dense_plan)
            report[name] = (float(np.mean(recalls)), sorted(plans))
        print("filtered dense recall@10:", report)
        assert report["1%"][0] == 1.0
        assert report["10%"][0] >= 0.9
        assert report["100%"][0] >= 0.9
        assert DensePlan.EXACT not in report["100%"][1]
    finally:
        store.close()


def test_refuses_newer_schema(postgres_dsn: str) -> None:
    PostgresStore(postgres_dsn).warm_up()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'")
    store = PostgresStore(postgres_dsn)
    with pytest.raises(StoreError, match="newer"):
        store.warm_up()
    store.close()


def test_refuses_other_dimensions(postgres_dsn: str) -> None:
    PostgresStore(postgres_dsn).warm_up()
    store = PostgresStore(postgres_dsn, dimensions=8)
    with pytest.raises(StoreError, match="vector\\(384\\)"):
        store.warm_up()
    store.close()


def test_unreachable_server_is_a_store_error(tmp_path: object) -> None:
    store = PostgresStore(f"postgresql://nobody@/none?host={tmp_path}&connect_timeout=1")
    with pytest.raises(StoreError, match="cannot connect"):
        store.warm_up()
    store.close()


def test_nul_characters_keep_offsets(postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn)
    try:
        store.replace_documents([make_write("/kb/n.md", ["before\x00after walrus"])])
        hits = store.keyword_search("walrus", principal=SYSTEM, k=1)
        assert hits[0].chunk.text == "before\ufffdafter walrus"
        assert hits[0].chunk.end - hits[0].chunk.start == len(hits[0].chunk.text)
    finally:
        store.close()


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from kenning.settings import Settings, StoreBackend, StoreSettings
    from kenning.wiring import Components

    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "kenning.store.postgres", raising=False)
    settings = Settings(store=StoreSettings(backend=StoreBackend.POSTGRES, dsn="postgresql://x"))
    with pytest.raises(ConfigurationError, match=r"kenning\[postgres\]"):
        _ = Components(settings).store


def test_term_stemming_to_nothing_is_stored(postgres_dsn: str) -> None:
    """Porter stems the token "s" (from "it's") to "", which a tsvector cannot hold."""
    store = PostgresStore(postgres_dsn)
    try:
        store.replace_documents([make_write("/kb/s.md", ["it's the walrus's tusk"])])
        assert [h.source for h in store.keyword_search("tusk", principal=SYSTEM, k=1)] == [
            "/kb/s.md"
        ]
    finally:
        store.close()


def test_keyword_pruning_is_exact(postgres_dsn: str, tmp_path: Path) -> None:
    """MaxScore pruning (``keyword_budget=1``: the first round scores only the chunks of
    the rarest query term) returns exactly what scoring every matching chunk returns,
    with and without an ACL filter, on a Zipf-like vocabulary where common terms match
    most chunks and the threshold check decides whether more rounds are needed; and the
    scores are the SQLite backend's (whose float32 arithmetic may order exact ties
    differently, so only scores are compared with it)."""
    rng = np.random.default_rng(3)
    vocab = [f"w{i}x" for i in range(40)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    writes = []
    for i in range(300):
        words = rng.choice(vocab, size=int(rng.integers(5, 40)), p=weights)
        text = " ".join(words)
        acl = Acl(public=False, groups=frozenset({f"g{i % 3}"}))
        doc = Document(
            Document.make_id("t1", f"/z/{i}"), "t1", f"/z/{i}", str(i), str(i), "md", acl, {}, text
        )
        chunk = ChunkDraft(ordinal=0, text=text, indexed_text=text, start=0, end=len(text))
        writes.append(DocumentWrite(doc, [chunk], np.zeros((1, DIMS), dtype=np.float32) + 0.05))
    pruned = PostgresStore(postgres_dsn, pool_size=2, keyword_budget=1)
    full = PostgresStore(postgres_dsn, pool_size=2, keyword_budget=10**9)
    reference = SQLiteStore(tmp_path / "kenning.db")
    pruned.replace_documents(writes)
    reference.replace_documents(writes)
    member = Principal(tenant="t1", user_id="u", groups=frozenset({"g1"}))
    try:
        for _ in range(30):
            query = " ".join(rng.choice(vocab, size=int(rng.integers(2, 6)), replace=False))
            for who in (SYSTEM, member):
                got = pruned.keyword_search(query, principal=who, k=5)
                want = full.keyword_search(query, principal=who, k=5)
                assert [h.source for h in got] == [h.source for h in want], query
                want = reference.keyword_search(query, principal=who, k=5)
                assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-5)
    finally:
        pruned.close()
        full.close()
        reference.close()


def _df_table_and_recount(dsn: str) -> tuple[dict[str, int], dict[str, int]]:
    """``keyword_terms`` (zero counts dropped) and a recount from the stored chunks."""
    with psycopg.connect(dsn) as conn:
        kept = dict(conn.execute("SELECT term, df FROM keyword_terms WHERE df <> 0").fetchall())
        recount = dict(
            conn.execute(
                "SELECT t.term, count(*) FROM chunks c, jsonb_object_keys(c.term_freqs) t(term)"
                " GROUP BY t.term"
            ).fetchall()
        )
    return kept, recount


def test_document_frequencies_follow_every_write(postgres_dsn: str) -> None:
    """Inserts, replacements (fewer chunks), ACL changes, deletes by tenant and the
    cascade from documents: the maintained counts always equal a recount."""
    store = PostgresStore(postgres_dsn, pool_size=2)
    try:
        store.replace_documents(
            [
                make_write("/kb/a.md", ["walrus tusks ivory", "walrus pods swim"]),
                make_write("/kb/b.md", ["penguin walrus colony"], tenant="t2"),
                make_write("/kb/c.md", ["ivory trade ban"]),
            ]
        )
        kept, recount = _df_table_and_recount(postgres_dsn)
        assert kept == recount
        assert kept["walru"] == 3  # two chunks of a.md, one of b.md (other tenant too)
        store.replace_documents([make_write("/kb/a.md", ["seal pups"], content_hash="v2")])
        store.set_acl("t1", Document.make_id("t1", "/kb/c.md"), Acl(users=frozenset({"ann"})))
        kept, recount = _df_table_and_recount(postgres_dsn)
        assert kept == recount
        assert kept["walru"] == 1
        assert store.delete_documents("t1", [Document.make_id("t1", "/kb/c.md")]) == 1
        kept, recount = _df_table_and_recount(postgres_dsn)
        assert kept == recount
        assert "ivori" not in kept
        assert "ban" not in kept
        # BM25 sees the same statistics: idf of a term now in one chunk of three.
        idf = store.keyword_idf(["walru", "seal"])
        assert idf["walru"] == pytest.approx(idf["seal"])
    finally:
        store.close()


def test_concurrent_writers_keep_document_frequencies_exact(postgres_dsn: str) -> None:
    """Four threads writing overlapping terms at once: no deadlock, no lost update."""
    from concurrent.futures import ThreadPoolExecutor

    store = PostgresStore(postgres_dsn, pool_size=4)
    store.warm_up()

    def write(worker: int) -> None:
        for i in range(10):
            texts = [f"shared common words batch{i} worker{worker} item{j}" for j in range(3)]
            store.replace_documents([make_write(f"/kb/{worker}/{i}.md", texts, seed=i)])
            if i % 3 == 2:
                store.delete_documents("t1", [Document.make_id("t1", f"/kb/{worker}/{i - 1}.md")])

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, range(4)))
        kept, recount = _df_table_and_recount(postgres_dsn)
        assert kept == recount
        assert kept["share"] == 4 * (10 - 3) * 3
    finally:
        store.close()


def test_a_version_1_store_is_upgraded_in_place(postgres_dsn: str) -> None:
    """A store written before ``keyword_terms`` existed gets the table, its triggers and
    the counts of what it already holds; searches then rank as before."""
    store = PostgresStore(postgres_dsn)
    store.replace_documents(
        [make_write("/kb/a.md", ["walrus tusks ivory"]), make_write("/kb/b.md", ["ivory ban"])]
    )
    before = store.keyword_scores("walrus ivory", principal=SYSTEM, k=5)
    store.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:  # back to version 1
        conn.execute("DROP TABLE keyword_terms")
        conn.execute("DROP TRIGGER chunks_terms_added ON chunks")
        conn.execute("DROP TRIGGER chunks_terms_removed ON chunks")
        conn.execute("UPDATE store_meta SET value = '1' WHERE key = 'schema_version'")
    store = PostgresStore(postgres_dsn)
    try:
        store.warm_up()
        kept, recount = _df_table_and_recount(postgres_dsn)
        assert kept == recount == {"walru": 1, "tusk": 1, "ivori": 2, "ban": 1}
        assert store.keyword_scores("walrus ivory", principal=SYSTEM, k=5) == before
        store.replace_documents([make_write("/kb/c.md", ["walrus again"])])
        assert _df_table_and_recount(postgres_dsn)[0]["walru"] == 2
        with psycopg.connect(postgres_dsn) as conn:
            version = conn.execute(
                "SELECT value FROM store_meta WHERE key = 'schema_version'"
            ).fetchone()
        assert version == ("2",)
    finally:
        store.close()


def test_ef_search_grows_with_the_index() -> None:
    """HNSW recall falls as the graph grows; the candidate list grows with it, within
    pgvector's limit, and a zero growth rate keeps it fixed."""
    store = PostgresStore("postgresql://unused@/none", ef_search=200, ef_search_per_million=1000)
    assert [store.scaled_ef_search(n) for n in (0, 150_000, 500_000, 1_000_000, 9_000_000)] == [
        200,
        200,
        500,
        1000,
        1000,
    ]
    fixed = PostgresStore("postgresql://unused@/none", ef_search=300, ef_search_per_million=0)
    assert fixed.scaled_ef_search(5_000_000) == 300


def test_capped_keyword_search_is_flagged_and_scores_exactly(postgres_dsn: str) -> None:
    """``keyword_max_postings`` bounds the chunks scored: a query whose exact answer
    needs more is flagged inexact, and what it returns are real matches with their exact
    BM25 scores, best first; a cap above the work needed changes nothing."""
    rng = np.random.default_rng(5)
    vocab = [f"v{i}x" for i in range(30)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    writes = []
    for i in range(400):
        text = " ".join(rng.choice(vocab, size=int(rng.integers(5, 30)), p=weights))
        writes.append(make_write(f"/c/{i}.md", [text]))
    capped = PostgresStore(postgres_dsn, pool_size=2, keyword_budget=1, keyword_max_postings=40)
    loose = PostgresStore(postgres_dsn, pool_size=2, keyword_budget=1, keyword_max_postings=10**9)
    exact = PostgresStore(postgres_dsn, pool_size=2, keyword_budget=10**9)
    exact.replace_documents(writes)
    flagged = 0
    try:
        for _ in range(25):
            query = " ".join(rng.choice(vocab, size=4, replace=False))
            want = exact.keyword_scores(query, principal=SYSTEM, k=10)
            assert loose.keyword_scores(query, principal=SYSTEM, k=10) == want
            assert loose.last_keyword_exact
            got = capped.keyword_scores(query, principal=SYSTEM, k=10)
            if capped.last_keyword_exact:
                assert got == want, query
                continue
            flagged += 1
            every = dict(exact.keyword_scores(query, principal=SYSTEM, k=1000))
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
            for chunk, score in got:
                assert score == pytest.approx(every[chunk], rel=1e-9)
        assert flagged > 0, "the cap never bit: the test would prove nothing"
    finally:
        capped.close()
        loose.close()
        exact.close()


def test_searches_go_to_the_read_replica(postgres_dsn: str, postgres_server: object) -> None:
    """With ``read_dsn``, keyword and dense searches (and the hits they load) read from it;
    writes and document reads stay on the primary. Shown with two databases holding
    different documents, so each answer says where it was read."""
    from tests.postgres import TEMPLATE, clone_database, drop_database

    name = clone_database(postgres_server, TEMPLATE)
    replica_dsn = str(postgres_server.get_uri(name))  # type: ignore[attr-defined]
    replica = PostgresStore(replica_dsn)
    routed = PostgresStore(postgres_dsn, read_dsn=replica_dsn)
    try:
        replica.replace_documents([make_write("/kb/r.md", ["walrus on the replica"])])
        routed.replace_documents([make_write("/kb/p.md", ["walrus on the primary"])])
        hits = routed.keyword_search("walrus", principal=SYSTEM, k=5)
        assert [h.source for h in hits] == ["/kb/r.md"]
        dense = routed.dense_scores([0.1] * DIMS, principal=SYSTEM, k=5)
        assert len(dense) == 1
        assert routed.load_hits(SYSTEM, dense)[0].source == "/kb/r.md"
        assert [d.source for d in routed.list_documents("t1")] == ["/kb/p.md"]
        assert routed.get_document("t1", Document.make_id("t1", "/kb/p.md")) is not None
    finally:
        routed.close()
        replica.close()
        drop_database(postgres_server, name)
