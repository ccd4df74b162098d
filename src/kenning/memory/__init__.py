"""What Kenning remembers per user: conversations, answers and feedback on them."""

from kenning.memory.conversations import (
    AnswerRecord,
    Conversation,
    ConversationRepository,
    Message,
    Spend,
)

__all__ = ["AnswerRecord", "Conversation", "ConversationRepository", "Message", "Spend"]
