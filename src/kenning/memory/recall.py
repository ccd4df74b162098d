"""Conversation and long-term memory for one question: the one object the chat layer uses.

Per question, in order:
1. ``remember``: an explicit "remember that ..." is stored and acknowledged; nothing is
   retrieved or generated for it.
2. ``recall``: the conversation's turns are read; the question is rewritten when it is a
   follow-up (``rewrite``), the turns are fitted into the history budget (``history``),
   and the user's memories most relevant to the (rewritten) question are looked up.
   The result is a ``Recall`` the answering pipeline takes.
3. ``learn`` (after the answer, off the request's critical path): with an LLM, durable
   facts the user stated about themselves are extracted and kept (``extract``).

Everything is keyed by the caller's tenant and user name; nothing here reads another
user's memories or conversations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kenning.errors import KenningError
from kenning.generation.base import Usage
from kenning.memory.conversations import Conversation, ConversationRepository
from kenning.memory.extract import MemoryExtractor
from kenning.memory.history import HistoryFitter, Recall, Turn
from kenning.memory.longterm import (
    Memory,
    MemoryRepository,
    MemorySource,
    explicit_forget,
    explicit_memory,
)
from kenning.memory.rewrite import QueryRewriter, Rewrite, RewriteMethod
from kenning.observability import tracing
from kenning.settings import MemorySettings

logger = logging.getLogger(__name__)

_ABOUT_SELF = re.compile(r"\b(?:i|i'm|im|i've|my|me|mine|we|our|prefer|call me)\b", re.IGNORECASE)
"""A message in the first person. Extraction only runs on these (most questions do not
talk about the speaker, and each extraction is an LLM call); recall takes the user's best
memories for them even when the cosine is low."""


def _spent(*usages: Usage | None) -> dict[str, int]:
    counted = [u for u in usages if u is not None]
    if not counted:
        return {}
    return {
        "prompt_tokens": sum(u.prompt_tokens for u in counted),
        "completion_tokens": sum(u.completion_tokens for u in counted),
    }


def acknowledgement(memory: Memory) -> str:
    return f"I'll remember that: {memory.text}"


@dataclass(frozen=True, slots=True)
class Forgetting:
    """A "forget that ..." message: what was asked, and the memory deleted (if any)."""

    request: str
    memory: Memory | None

    @property
    def reply(self) -> str:
        if self.memory is None:
            return f"I don't remember anything like that: {self.request}"
        return f"I've forgotten that: {self.memory.text}"


class ConversationMemory:
    def __init__(
        self,
        conversations: ConversationRepository,
        memories: MemoryRepository,
        rewriter: QueryRewriter,
        fitter: HistoryFitter,
        extractor: MemoryExtractor | None,
        settings: MemorySettings,
    ) -> None:
        self.conversations = conversations
        self.memories = memories
        self.rewriter = rewriter
        self.fitter = fitter
        self.extractor = extractor
        self.settings = settings

    def remember(self, tenant: str, username: str, message: str) -> Memory | None:
        """Store the fact of an explicit "remember that ..." message; None otherwise."""
        if not self.settings.long_term:
            return None
        fact = explicit_memory(message)
        if fact is None or len(fact) > self.settings.max_memory_chars:
            return None
        return self.memories.add(tenant, username, fact, MemorySource.EXPLICIT)

    def forget(self, tenant: str, username: str, message: str) -> Forgetting | None:
        """Delete the memory a "forget that ..." message describes; None for other messages."""
        if not self.settings.long_term:
            return None
        request = explicit_forget(message)
        if request is None:
            return None
        return Forgetting(request, self.memories.forget(tenant, username, request))

    def recall(
        self, tenant: str, username: str, conversation: Conversation | None, question: str
    ) -> tuple[Recall, Rewrite]:
        turns = self.conversations.turns(conversation) if conversation else []
        cached = (conversation.summary, conversation.summary_turns) if conversation else ("", 0)
        recall, rewrite = self.recall_turns(tenant, username, turns, question, cached)
        history = recall.history
        if (
            history is not None
            and conversation is not None
            and history.summarised_turns
            and history.summarised_turns != conversation.summary_turns
        ):
            self.conversations.save_summary(conversation, history.summary, history.summarised_turns)
        return recall, rewrite

    def recall_turns(
        self,
        tenant: str,
        username: str,
        turns: Sequence[Turn],
        question: str,
        cached: tuple[str, int] = ("", 0),
    ) -> tuple[Recall, Rewrite]:
        """``recall`` for turns the client sent itself (the OpenAI-compatible endpoint)."""
        with tracing.stage("memory", {"kenning.turns": len(turns)}) as span:
            rewrite = self.rewriter.rewrite(question, turns)
            history = self.fitter.fit(turns, cached=cached)
            personal = any(_ABOUT_SELF.search(t) for t in (question, rewrite.query))
            recalled = self._memories(tenant, username, rewrite.query, personal=personal)
            span.set_attribute("kenning.rewrite", rewrite.method.value)
            span.set_attribute("kenning.summarised_turns", history.summarised_turns)
            span.set_attribute("kenning.memories", len(recalled))
        search_query = rewrite.query if rewrite.method is not RewriteMethod.NONE else None
        usage = _spent(rewrite.usage, history.usage)
        return Recall(search_query, history, recalled, usage), rewrite

    def _memories(
        self, tenant: str, username: str, query: str, *, personal: bool
    ) -> tuple[str, ...]:
        if not self.settings.long_term or self.settings.memory_budget_tokens == 0:
            return ()
        recalled = self.memories.recall(
            tenant,
            username,
            query,
            min_similarity=self.settings.recall_min_similarity_personal if personal else None,
        )
        kept: list[str] = []
        used = 0
        for item in recalled:
            cost = self.memories.embedder.count_tokens([item.memory.text])[0]
            if used + cost > self.settings.memory_budget_tokens:
                break
            kept.append(item.memory.text)
            used += cost
        return tuple(kept)

    def learn(self, tenant: str, username: str, message: str) -> list[Memory]:
        """Keep the durable facts the LLM finds in the user's message; never raises."""
        if self.extractor is None or not self.settings.long_term or not _ABOUT_SELF.search(message):
            return []
        kept: list[Memory] = []
        for fact in self.extractor.extract(message):
            try:
                kept.append(self.memories.add(tenant, username, fact, MemorySource.EXTRACTED))
            except KenningError as exc:
                logger.warning("an extracted memory was not kept: %s", exc)
        return kept
