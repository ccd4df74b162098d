"""``Kenning``: the typed Python entry point integrators use (``from kenning import Kenning``).

A thin facade over the same components the CLI and API use, so the three never drift.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Self

from kenning.pipelines.answering import AnswerEvent
from kenning.pipelines.indexing import IngestReport, ProgressCallback
from kenning.pipelines.web_sync import WebSync
from kenning.retrieval.hybrid import SearchResult
from kenning.settings import SearchMode, Settings
from kenning.types import DEFAULT_TENANT, Acl, Answer, Principal, SearchFilter
from kenning.wiring import Components


class Kenning:
    """A knowledge base in a data directory: ingest files, search them, ask questions.

    >>> kb = Kenning(data_dir="/tmp/kb")                       # doctest: +SKIP
    >>> kb.ingest(["handbook/"]).added                         # doctest: +SKIP
    >>> kb.search("parental leave").hits[0].chunk.text         # doctest: +SKIP
    """

    def __init__(
        self, data_dir: str | Path | None = None, settings: Settings | None = None
    ) -> None:
        settings = settings or Settings()
        if data_dir is not None:
            settings = settings.model_copy(update={"data_dir": Path(data_dir)})
        self.settings = settings
        self.components = Components(settings)

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        tenant: str = DEFAULT_TENANT,
        acl: Acl | None = None,
        sync: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        return self.components.indexer.ingest_paths(
            [Path(p) for p in paths], tenant=tenant, acl=acl, sync=sync, on_progress=on_progress
        )

    def ingest_url(
        self,
        url: str,
        *,
        tenant: str = DEFAULT_TENANT,
        acl: Acl | None = None,
        max_pages: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Fetch a page and, up to ``max_pages``, what it links to under the same folder;
        pages gone from the site are dropped. Non-public addresses need
        ``web.allow_networks`` (see ``kenning.ingest.web``)."""
        sync = WebSync(self.components.indexer, self.settings)
        return sync.run(url, tenant=tenant, acl=acl, max_pages=max_pages, on_progress=on_progress)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: SearchMode | None = None,
        principal: Principal | None = None,
        filter: SearchFilter | None = None,
    ) -> SearchResult:
        return self.components.retriever.search(
            query, principal=principal or Principal.system(), k=k, mode=mode, filter=filter
        )

    def ask(
        self,
        question: str,
        *,
        principal: Principal | None = None,
        filter: SearchFilter | None = None,
    ) -> Answer:
        """A grounded answer with validated citations (LLM, extractive, or an abstention)."""
        return self.components.assistant.ask(
            question, principal=principal or Principal.system(), filter=filter
        )

    def ask_stream(
        self,
        question: str,
        *,
        principal: Principal | None = None,
        filter: SearchFilter | None = None,
    ) -> Iterator[AnswerEvent]:
        """The same answer as events: sources, tokens (maybe a reset), then the answer."""
        return self.components.assistant.stream(
            question, principal=principal or Principal.system(), filter=filter
        )

    def close(self) -> None:
        self.components.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
