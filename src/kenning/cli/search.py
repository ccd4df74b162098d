"""``kenning search``: ranked passages with their document, page/section and score."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from kenning.cli.context import console, print_json, state
from kenning.settings import SearchMode
from kenning.types import DEFAULT_TENANT, Hit, Principal


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    mode: Annotated[SearchMode | None, typer.Option(help="keyword, dense or hybrid.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many passages.")] = 5,
    tenant: Annotated[str, typer.Option(help="Tenant to search.")] = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the indexed documents."""
    result = state(ctx).components.retriever.search(
        query, principal=Principal.system(tenant), k=k, mode=mode
    )
    if as_json:
        print_json(
            {
                "query": query,
                "hits": [hit_dict(h) for h in result.hits],
                "timings_ms": {s: round(t * 1000, 2) for s, t in result.timings.items()},
            }
        )
        return
    if not result.hits:
        console.print("No passages found.")
    for hit in result.hits:
        _print_hit(hit)


def hit_dict(hit: Hit) -> dict[str, object]:
    c = hit.chunk
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "document_id": c.document_id,
        "title": hit.document_title,
        "source": hit.source,
        "page": c.page,
        "section": list(c.section),
        "start": c.start,
        "end": c.end,
        "text": c.text,
    }


def _print_hit(hit: Hit) -> None:
    c = hit.chunk
    where = [f"p. {c.page}"] if c.page else []
    section = [part for part in c.section if part != hit.document_title]
    if section:
        where.append(" > ".join(section))
    location = f" ({'; '.join(where)})" if where else ""
    console.print(
        f"[bold]{hit.rank}. {escape(hit.document_title)}[/]{escape(location)}"
        f"  [dim]score {hit.score:.4f}[/]"
    )
    console.print(f"   [dim]{escape(hit.source)}[/]")
    snippet = " ".join(c.text.split())
    console.print(f"   {escape(snippet[:400])}{'…' if len(snippet) > 400 else ''}\n")
