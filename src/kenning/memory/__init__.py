"""What Kenning remembers per user: conversations, answers and feedback on them, and the
user's long-term memories (docs/memory.md)."""

from kenning.memory.conversations import (
    AnswerRecord,
    Conversation,
    ConversationRepository,
    Message,
    Spend,
)
from kenning.memory.history import History, HistoryFitter, Recall, Turn
from kenning.memory.longterm import (
    Memory,
    MemoryRepository,
    MemorySource,
    Recalled,
    explicit_memory,
)
from kenning.memory.recall import ConversationMemory, Forgetting, acknowledgement
from kenning.memory.rewrite import QueryRewriter, Rewrite, RewriteMethod

__all__ = [
    "AnswerRecord",
    "Conversation",
    "ConversationMemory",
    "ConversationRepository",
    "Forgetting",
    "History",
    "HistoryFitter",
    "Memory",
    "MemoryRepository",
    "MemorySource",
    "Message",
    "QueryRewriter",
    "Recall",
    "Recalled",
    "Rewrite",
    "RewriteMethod",
    "Spend",
    "Turn",
    "acknowledgement",
    "explicit_memory",
]
