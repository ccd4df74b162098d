"""Long-term memory: facts and preferences a user wants Kenning to keep across conversations.

A memory belongs to one user of one tenant, and every statement here names both in its
``WHERE`` clause: an id from another account is "not found", never someone else's fact.
Memories are recalled by relevance (cosine between the question and the memory, exact,
over the user's own memories: a few hundred at most, so no index is needed) and reach
the prompt as delimited data, never as instructions and never as a citable source.

Two ways in: an explicit "remember that ..." (``explicit_memory``), which always works,
and facts the LLM extracts from the user's messages (``kenning.memory.extract``). A new
memory nearly identical to one the user already has (cosine >= ``dedup_similarity``)
replaces it, so repeating a preference does not pile up copies and an update ("I now
work in Lyon" vs "I work in Lyon") keeps the newest wording.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from kenning.db.engine import Sql, SqlDatabase
from kenning.embedding.base import Embedder
from kenning.errors import InvalidInputError, NotFoundError
from kenning.settings import MemorySettings


class MemorySource(StrEnum):
    EXPLICIT = "explicit"
    """The user asked for it ("remember that ...", the API, the CLI)."""
    EXTRACTED = "extracted"
    """The LLM picked it out of one of the user's messages."""


@dataclass(frozen=True, slots=True)
class Memory:
    id: str
    tenant: str
    username: str
    text: str
    source: MemorySource
    created_at: float


@dataclass(frozen=True, slots=True)
class Recalled:
    memory: Memory
    similarity: float


_EXPLICIT = re.compile(
    r"^\s*(?:please\s+|kenning,?\s+)?"
    r"(?:remember|memori[sz]e|keep in mind|don'?t forget|do not forget)"
    r"(?:\s+(?:that|this))?\s*[:,-]?\s+(?P<fact>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FORGET = re.compile(
    r"^\s*(?:please\s+)?forget(?:\s+(?:that|about))?\s*[:,-]?\s+(?P<fact>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_NOT_A_FACT = re.compile(r"^(?:when|what|who|how|why|if|whether)\b", re.IGNORECASE)


def explicit_memory(message: str) -> str | None:
    """The fact in "remember that ...", "please remember: ...", "keep in mind ...",
    "don't forget ..."; None for anything else. Not "note that ...": support messages
    start that way ("note that I can't log in") and must be answered, not filed.

    Questions are not instructions to remember ("remember when we talked about X?",
    "note that down?"): a message ending in "?" or whose remainder starts with a question
    word is a question, answered normally.
    """
    match = _EXPLICIT.match(message)
    if match is None or message.rstrip().endswith("?"):
        return None
    fact = match.group("fact").strip().rstrip(".!").strip()
    if len(fact.split()) < 2 or _NOT_A_FACT.match(fact):
        return None
    return fact[0].upper() + fact[1:]


def explicit_forget(message: str) -> str | None:
    """What "forget that ..." / "please forget about ..." asks to forget; None otherwise
    (and for questions, and for "forget it")."""
    match = _FORGET.match(message)
    if match is None or message.rstrip().endswith("?"):
        return None
    fact = match.group("fact").strip().rstrip(".!").strip()
    return fact if len(fact.split()) >= 2 else None


def _to_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _from_bytes(raw: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(bytes(raw), dtype="<f4")


def _unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return vector if norm == 0 else (vector / norm).astype(np.float32)


_COLUMNS = "id, tenant, username, text, source, created_at"


def _memory(row: tuple[Any, ...]) -> Memory:
    mid, tenant, username, text, source, created = row
    return Memory(mid, tenant, username, text, MemorySource(source), float(created))


class MemoryRepository:
    """Stores, deduplicates, recalls and deletes one user's memories."""

    def __init__(self, db: SqlDatabase, embedder: Embedder, settings: MemorySettings) -> None:
        self.db = db
        self.embedder = embedder
        self.settings = settings

    @property
    def _model(self) -> str:
        return str(getattr(self.embedder, "name", "embedder"))

    def add(self, tenant: str, username: str, text: str, source: MemorySource) -> Memory:
        """Keep ``text`` for the user; a near-duplicate of an existing memory replaces it."""
        text = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
        if not text:
            raise InvalidInputError("a memory needs some text")
        if len(text) > self.settings.max_memory_chars:
            raise InvalidInputError(
                f"a memory is at most {self.settings.max_memory_chars} characters"
            )
        vector = _unit(self.embedder.embed([text])[0])
        duplicate = self._nearest(tenant, username, vector)
        memory = Memory(secrets.token_hex(8), tenant, username, text, source, time.time())
        with self.db.write() as conn:
            if duplicate is not None:
                conn.execute(
                    "DELETE FROM memories WHERE id = ? AND tenant = ? AND username = ?",
                    (duplicate, tenant, username),
                )
            conn.execute(
                "INSERT INTO memories (id, tenant, username, text, source, created_at, model,"
                " embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    memory.id,
                    tenant,
                    username,
                    text,
                    source.value,
                    memory.created_at,
                    self._model,
                    _to_bytes(vector),
                ),
            )
            self._trim(conn, tenant, username)
        return memory

    def _trim(self, conn: Sql, tenant: str, username: str) -> None:
        """Keep the newest ``max_memories_per_user``: the oldest go first."""
        conn.execute(
            "DELETE FROM memories WHERE tenant = ? AND username = ? AND id NOT IN ("
            "SELECT id FROM memories WHERE tenant = ? AND username = ?"
            " ORDER BY created_at DESC LIMIT ?)",
            (tenant, username, tenant, username, self.settings.max_memories_per_user),
        )

    def _nearest(self, tenant: str, username: str, vector: npt.NDArray[np.float32]) -> str | None:
        """The id of the user's memory at least ``dedup_similarity`` close, if any."""
        best = self._scored(tenant, username, vector)
        if best and best[0][1] >= self.settings.dedup_similarity:
            return best[0][0].id
        return None

    def _scored(
        self, tenant: str, username: str, vector: npt.NDArray[np.float32]
    ) -> list[tuple[Memory, float]]:
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS}, model, embedding FROM memories WHERE tenant = ? AND username = ?",
            (tenant, username),
        )
        if not rows:
            return []
        memories = [_memory(r[:6]) for r in rows]
        stale = [i for i, r in enumerate(rows) if r[6] != self._model]
        vectors = [_from_bytes(r[7]) for r in rows]
        if stale:  # the embedding model changed since: compare like with like
            fresh = self.embedder.embed([memories[i].text for i in stale])
            for i, v in zip(stale, fresh, strict=True):
                vectors[i] = _unit(v)
        scores = np.stack(vectors) @ vector
        ranked = sorted(zip(memories, scores.tolist(), strict=True), key=lambda p: -p[1])
        return [(m, float(s)) for m, s in ranked]

    def forget(self, tenant: str, username: str, description: str) -> Memory | None:
        """Delete the user's memory closest to ``description`` (at least
        ``forget_similarity`` close); None when nothing is close enough."""
        vector = _unit(self.embedder.embed([description])[0])
        scored = self._scored(tenant, username, vector)
        if not scored or scored[0][1] < self.settings.forget_similarity:
            return None
        memory = scored[0][0]
        self.delete(tenant, username, memory.id)
        return memory

    def recall(
        self, tenant: str, username: str, question: str, *, min_similarity: float | None = None
    ) -> list[Recalled]:
        """The user's memories most relevant to ``question``, best first, at most
        ``recall_k``, none below ``min_similarity`` (default ``recall_min_similarity``)."""
        k = self.settings.recall_k
        if k == 0:
            return []
        floor = self.settings.recall_min_similarity if min_similarity is None else min_similarity
        vector = _unit(self.embedder.embed([question])[0])
        scored = self._scored(tenant, username, vector)
        return [Recalled(m, s) for m, s in scored[:k] if s >= floor]

    def list_for(self, tenant: str, username: str) -> list[Memory]:
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM memories WHERE tenant = ? AND username = ?"
            " ORDER BY created_at DESC",
            (tenant, username),
        )
        return [_memory(r) for r in rows]

    def delete(self, tenant: str, username: str, memory_id: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM memories WHERE id = ? AND tenant = ? AND username = ?",
                (memory_id, tenant, username),
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no memory {memory_id!r}")

    def delete_all(self, tenant: str, username: str) -> int:
        """Forget everything about the user; returns how many memories were deleted."""
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM memories WHERE tenant = ? AND username = ?", (tenant, username)
            )
            return int(cursor.rowcount)
