"""``kenning ask``: a grounded answer, streamed, then its numbered sources."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from kenning.cli.context import console, print_json, state
from kenning.generation.prompts import location
from kenning.pipelines.answering import EventKind
from kenning.types import DEFAULT_TENANT, Answer, Passage, Principal


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question.")],
    tenant: Annotated[str, typer.Option(help="Tenant to ask.")] = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Answer a question from the documents, with citations."""
    assistant = state(ctx).components.assistant
    events = assistant.stream(question, principal=Principal.system(tenant))
    answer: Answer | None = None
    streamed = False
    for event in events:
        if event.kind is EventKind.TOKEN and not as_json:
            streamed = True
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif event.kind is EventKind.RESET and not as_json:
            sys.stdout.write("\n[answer interrupted; falling back to quoted sentences]\n")
        elif event.answer is not None:
            answer = event.answer
    assert answer is not None
    if as_json:
        print_json(answer_dict(answer))
    else:
        _print_tail(answer, streamed=streamed)


def _print_tail(answer: Answer, *, streamed: bool) -> None:
    if not streamed:  # abstentions are decided before any text is generated
        sys.stdout.write(answer.text)
    sys.stdout.write("\n")
    if answer.notice:
        console.print(f"[dim]{escape(answer.notice)}[/]")
    console.print(
        f"[dim]mode {answer.mode.value} · groundedness {answer.groundedness:.2f} · "
        f"evidence {answer.evidence:.2f}[/]"
    )
    shown = [c.passage for c in answer.citations] or list(answer.sources)
    heading = "Sources" if answer.citations else "Closest sources"
    if shown:
        console.print(f"\n[bold]{heading}[/]")
    for p in shown:
        where = location(p)
        console.print(
            f"[{p.number}] {escape(p.title)}{escape(' — ' + where) if where else ''}",
            highlight=False,
        )
        console.print(f"    [dim]{escape(p.source)}[/]", highlight=False)


def passage_dict(p: Passage) -> dict[str, object]:
    return {
        "number": p.number,
        "document_id": p.document_id,
        "title": p.title,
        "source": p.source,
        "page": p.page,
        "section": list(p.section),
        "start": p.start,
        "end": p.end,
        "text": p.text,
    }


def answer_dict(answer: Answer) -> dict[str, object]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "mode": answer.mode.value,
        "abstained": answer.abstained,
        "groundedness": round(answer.groundedness, 4),
        "evidence": round(answer.evidence, 4),
        "model": answer.model,
        "notice": answer.notice,
        "citations": [passage_dict(c.passage) for c in answer.citations],
        "sources": [passage_dict(p) for p in answer.sources],
        "timings_ms": {k: round(v * 1000, 2) for k, v in answer.timings.items()},
        "usage": dict(answer.usage),
    }
