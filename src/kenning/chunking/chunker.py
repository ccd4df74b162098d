"""Structure-aware chunking: whole blocks packed under a token budget, with context.

How a document becomes chunks:

1. *Plan* every block: its span in the parsed text, the section path in force (a stack
   of headings by level), the context header that will prefix its chunks ("Title >
   Section > Subsection"), and how many tokens a single atom of it may hold.
2. *Atomize*: a block that fits is one atom. A block that does not is split at sentence
   boundaries (table and code blocks at rows/lines), then words, then characters as a
   last resort. Counts are taken in batches, one call per refinement step.
3. *Pack* atoms greedily up to ``target_tokens``. A heading starts a new chunk and is
   kept with what follows; a list (with its "...:" lead-in) moves whole to a fresh chunk
   when that keeps it together; a table chunk that starts mid-table repeats the header
   row in its indexed text.
4. *Verify* every chunk's exact token count (special tokens included) and halve any
   chunk over ``max_tokens``, since the estimate assumes counts add up across pieces.

Every chunk's ``text`` is ``doc.text[start:end]``: atoms are trimmed spans of the parsed
text and a chunk runs from its first atom's start to its last atom's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from kenning.chunking._tokens import (
    CountTokens,
    Span,
    TokenCounter,
    rows,
    sentences,
    trimmed,
    words,
)
from kenning.types import BLOCK_SEPARATOR, BlockKind, ChunkDraft, ParsedDocument

_CONTEXT_SHARE = 3  # the context header may use at most 1/3 of max_tokens
_TABLE_HEADER_SHARE = 2  # context + repeated table header: at most 1/2 of max_tokens
_MAX_REFINEMENTS = 64


@dataclass(slots=True)
class _Plan:
    """What the chunker knows about one non-empty block."""

    kind: BlockKind
    start: int
    end: int
    page: int | None
    section: tuple[str, ...]
    context: str
    context_tokens: int
    table_header: str | None = None
    header_tokens: int = 0
    tokens: int = 0
    limit: int = 0


@dataclass(frozen=True, slots=True)
class _Atom:
    """An unsplittable span of the parsed text (trimmed) with its estimated tokens."""

    start: int
    end: int
    tokens: int
    block: int


def chunk_document(
    doc: ParsedDocument,
    *,
    title: str,
    count_tokens: CountTokens,
    max_tokens: int = 256,
    target_tokens: int = 200,
) -> list[ChunkDraft]:
    """Chunk a parsed document (see the module docstring for the rules)."""
    text = doc.text
    counter = TokenCounter(count_tokens)
    plans = _plan_blocks(doc, text, " ".join(title.split()), counter, max_tokens)
    atoms = _atomize(plans, text, counter)
    packer = _Packer(plans, text, counter.overhead, min(target_tokens, max_tokens), max_tokens)
    groups = packer.pack(atoms)
    return _Finisher(plans, text, counter, max_tokens).drafts(groups)


def _plan_blocks(
    doc: ParsedDocument, text: str, title: str, counter: TokenCounter, max_tokens: int
) -> dict[int, _Plan]:
    """Spans, sections, contexts and token limits of every non-empty block."""
    plans: dict[int, _Plan] = {}
    stack: list[tuple[int, str]] = []
    cursor = 0
    for index, block in enumerate(doc.blocks):
        span = trimmed(text, cursor, cursor + len(block.text))
        cursor += len(block.text) + len(BLOCK_SEPARATOR)
        if span is None:
            continue
        if block.kind is BlockKind.HEADING:
            level = max(block.level, 1)
            stack = [(lvl, name) for lvl, name in stack if lvl < level]
            stack.append((level, " ".join(block.text.split())))
        section = tuple(name for _, name in stack)
        header = (block.header or "").strip() if block.kind is BlockKind.TABLE else ""
        plans[index] = _Plan(block.kind, *span, block.page, section, "", 0, header or None)
    contexts = _Contexts(title, counter, max_tokens, [p.section for p in plans.values()])
    for plan in plans.values():
        plan.context, plan.context_tokens = contexts.for_section(plan.section)
    _count_blocks(plans, text, counter, max_tokens)
    return plans


class _Contexts:
    """Context headers per section path, shortened when they would crowd out the text."""

    def __init__(
        self,
        title: str,
        counter: TokenCounter,
        max_tokens: int,
        sections: Sequence[tuple[str, ...]],
    ) -> None:
        self._title = title
        self._counter = counter
        self._budget = max_tokens // _CONTEXT_SHARE - counter.overhead
        self._cache: dict[tuple[str, ...], tuple[str, int]] = {}
        # One batch for every candidate header of every section; lookups then hit the cache.
        counter.content([o for s in dict.fromkeys(sections) for o in self._options(s)])

    def for_section(self, section: tuple[str, ...]) -> tuple[str, int]:
        if section not in self._cache:
            options = self._options(section)
            counts = self._counter.content(options)
            pairs = zip(options, counts, strict=True)
            self._cache[section] = next((o, n) for o, n in pairs if n <= self._budget)
        return self._cache[section]

    def _options(self, section: tuple[str, ...]) -> list[str]:
        """Full path first, then shorter fallbacks, always ending with no header at all."""
        title = self._title
        path = [part for part in section if part and part.casefold() != title.casefold()]
        last = path[-1:]
        candidates = [[title, *path], [title, *last], last, [title], []]
        rendered = [" > ".join(p for p in parts if p) for parts in candidates]
        return list(dict.fromkeys(f"{r}\n" if r else "" for r in rendered))


def _count_blocks(
    plans: dict[int, _Plan], text: str, counter: TokenCounter, max_tokens: int
) -> None:
    """Token counts of blocks and table headers in one batch; then each block's atom limit."""
    headers = [p.table_header for p in plans.values() if p.table_header]
    bodies = [text[p.start : p.end] for p in plans.values()]
    counts = counter.content([*bodies, *headers])
    for plan, n in zip(plans.values(), counts, strict=False):
        plan.tokens = n
    header_room = max_tokens // _TABLE_HEADER_SHARE
    for plan in plans.values():
        if plan.table_header:
            plan.header_tokens = counter.content([plan.table_header])[0]
            if counter.overhead + plan.context_tokens + plan.header_tokens > header_room:
                plan.table_header, plan.header_tokens = None, 0
        plan.limit = max_tokens - counter.overhead - plan.context_tokens - plan.header_tokens
    _reserve_room_for_headings(plans, max_tokens, counter.overhead)


def _reserve_room_for_headings(plans: dict[int, _Plan], max_tokens: int, overhead: int) -> None:
    """Shrink the atoms of a block that follows headings, so its first one fits beside them.

    Atoms are re-packed greedily afterwards, so smaller atoms cost nothing; this only
    guarantees that a heading never ends up alone because the next atom was too big.
    """
    run: list[_Plan] = []
    for plan in plans.values():
        if plan.kind is BlockKind.HEADING:
            run.append(plan)
            continue
        if run:
            used = overhead + run[0].context_tokens + sum(h.tokens for h in run)
            room = max_tokens - used - plan.header_tokens
            plan.limit = max(min(plan.limit, room), max_tokens // 8, 1)
        run = []


def _atomize(plans: dict[int, _Plan], text: str, counter: TokenCounter) -> list[_Atom]:
    """Atoms of every block in document order, splitting only what exceeds its limit."""
    atoms: list[_Atom] = []
    pending: list[tuple[int, Span]] = []
    for index, plan in plans.items():
        if plan.tokens <= plan.limit:
            atoms.append(_Atom(plan.start, plan.end, plan.tokens, index))
        else:
            pending.append((index, (plan.start, plan.end)))
    for step in range(_MAX_REFINEMENTS):
        if not pending:
            break
        pieces = [
            (i, piece) for i, span in pending for piece in _refine(plans[i], text, span, step)
        ]
        counts = counter.content([text[a:b] for _, (a, b) in pieces])
        pending = []
        for (index, (start, end)), n in zip(pieces, counts, strict=True):
            if n <= plans[index].limit or end - start <= 1:
                atoms.append(_Atom(start, end, n, index))
            else:
                pending.append((index, (start, end)))
    atoms.extend(_Atom(a, b, plans[i].limit, i) for i, (a, b) in pending)
    atoms.sort(key=lambda atom: atom.start)
    return atoms


def _refine(plan: _Plan, text: str, span: Span, step: int) -> list[Span]:
    """Split a span one level finer: rows/sentences, then words, then character halves."""
    start, end = span
    if step == 0:
        if plan.kind in (BlockKind.TABLE, BlockKind.CODE):
            return rows(text, start, end)
        return sentences(text, start, end)
    if step == 1:
        found = words(text, start, end)
        if len(found) > 1:
            return found
    middle = (start + end) // 2
    return [s for s in (trimmed(text, start, middle), trimmed(text, middle, end)) if s]


class _Packer:
    """Greedy packing of atoms into chunks, honouring headings, lists and tables."""

    def __init__(
        self, plans: dict[int, _Plan], text: str, overhead: int, target: int, max_tokens: int
    ) -> None:
        self.plans = plans
        self.text = text
        self.overhead = overhead
        self.target = target
        self.max_tokens = max_tokens
        self.list_runs = _list_runs(plans, text)

    def pack(self, atoms: Sequence[_Atom]) -> list[list[_Atom]]:
        groups: list[list[_Atom]] = []
        current: list[_Atom] = []
        estimate = 0
        headings_only = False
        for atom in atoms:
            if current and not self._accepts(estimate, headings_only, atom):
                groups.append(current)
                current = []
            if not current:
                estimate = self.base(atom)
                headings_only = True
            current.append(atom)
            estimate += atom.tokens
            headings_only = headings_only and self.plans[atom.block].kind is BlockKind.HEADING
        if current:
            groups.append(current)
        return groups

    def base(self, atom: _Atom) -> int:
        """Tokens a chunk starting with ``atom`` spends before its text."""
        plan = self.plans[atom.block]
        repeat = plan.header_tokens if self.continues_table(atom) else 0
        return self.overhead + plan.context_tokens + repeat

    def continues_table(self, atom: _Atom) -> bool:
        """Whether a chunk starting here needs the table's header row prepended."""
        header = self.plans[atom.block].table_header
        return header is not None and not self.text.startswith(header, atom.start)

    def _accepts(self, estimate: int, headings_only: bool, atom: _Atom) -> bool:
        """Whether ``atom`` joins the open chunk (else it starts the next one)."""
        plan = self.plans[atom.block]
        starts_block = atom.start == plan.start
        if headings_only:
            # Headings gather until the budget is full; content joins them if it fits at all.
            return estimate + atom.tokens <= self.max_tokens
        if plan.kind is BlockKind.HEADING and starts_block:
            return False
        if starts_block and atom.block in self.list_runs:
            run = self.list_runs[atom.block]
            if estimate + run > self.target and self.base(atom) + run <= self.target:
                return False
        return estimate + atom.tokens <= self.target


def _list_runs(plans: dict[int, _Plan], text: str) -> dict[int, int]:
    """Token size of each run of list items, keyed by the block that opens it.

    A paragraph ending with a colon right before the list ("Important points:") opens the
    run, so the lead-in travels with its items.
    """
    runs: dict[int, int] = {}
    entries = list(plans.items())
    position = 0
    for is_list, group in groupby(entries, key=lambda e: e[1].kind is BlockKind.LIST_ITEM):
        members = list(group)
        if is_list:
            opener, total = members[0][0], sum(plan.tokens for _, plan in members)
            lead_index, lead = entries[position - 1] if position else (-1, None)
            if lead is not None and lead.kind is BlockKind.PARAGRAPH and text[lead.end - 1] == ":":
                opener, total = lead_index, total + lead.tokens
            runs[opener] = total
        position += len(members)
    return runs


class _Finisher:
    """Builds drafts, verifies exact counts and halves chunks that overshoot."""

    def __init__(
        self, plans: dict[int, _Plan], text: str, counter: TokenCounter, max_tokens: int
    ) -> None:
        self.plans = plans
        self.text = text
        self.counter = counter
        self.max_tokens = max_tokens

    def drafts(self, groups: list[list[_Atom]]) -> list[ChunkDraft]:
        counts = self.counter.exact([self.indexed(g) for g in groups])
        for _ in range(_MAX_REFINEMENTS):
            over = {
                i for i, n in enumerate(counts) if n > self.max_tokens and _splittable(groups[i])
            }
            if not over:
                break
            groups, counts = self._halve(groups, counts, over)
        return [self._draft(i, g, n) for i, (g, n) in enumerate(zip(groups, counts, strict=True))]

    def indexed(self, group: Sequence[_Atom]) -> str:
        first = group[0]
        plan = self.plans[first.block]
        body = self.text[first.start : group[-1].end]
        header = self.plans[first.block].table_header
        if header is not None and not self.text.startswith(header, first.start):
            return f"{plan.context}{header}\n{body}"
        return plan.context + body

    def _halve(
        self, groups: list[list[_Atom]], counts: list[int], over: set[int]
    ) -> tuple[list[list[_Atom]], list[int]]:
        """Replace each overshooting group by two halves and count only the new ones."""
        new_groups: list[list[_Atom]] = []
        known: list[int | None] = []
        for i, group in enumerate(groups):
            if i in over:
                halves = _halves(group, self.text)
                new_groups.extend(halves)
                known.extend([None] * len(halves))
            else:
                new_groups.append(group)
                known.append(counts[i])
        fresh = [g for g, n in zip(new_groups, known, strict=True) if n is None]
        recount = iter(self.counter.exact([self.indexed(g) for g in fresh]))
        return new_groups, [n if n is not None else next(recount) for n in known]

    def _draft(self, ordinal: int, group: Sequence[_Atom], n_tokens: int) -> ChunkDraft:
        first, last = group[0], group[-1]
        plan = self.plans[first.block]
        return ChunkDraft(
            ordinal=ordinal,
            text=self.text[first.start : last.end],
            indexed_text=self.indexed(group),
            start=first.start,
            end=last.end,
            page=plan.page,
            section=plan.section,
            n_tokens=n_tokens,
        )


def _splittable(group: Sequence[_Atom]) -> bool:
    return len(group) > 1 or group[0].end - group[0].start > 1


def _halves(group: list[_Atom], text: str) -> list[list[_Atom]]:
    """Two smaller groups: split between atoms, or inside a lone atom at a word/character."""
    if len(group) > 1:
        middle = len(group) // 2
        return [group[:middle], group[middle:]]
    atom = group[0]
    found = words(text, atom.start, atom.end)
    if len(found) > 1:
        cut_end, cut_start = found[len(found) // 2 - 1][1], found[len(found) // 2][0]
    else:
        cut_end = cut_start = (atom.start + atom.end) // 2
    return [
        [_Atom(atom.start, cut_end, 0, atom.block)],
        [_Atom(cut_start, atom.end, 0, atom.block)],
    ]
