"""Recording an answer: store it with its quality signals, price it, count it.

The one place the API layer hands a finished answer to, so the stored record, the
metrics and the report can never disagree about what was said and what it cost.
"""

from __future__ import annotations

import time

from kenning.memory import Conversation, ConversationRepository, Spend
from kenning.observability.metrics import Metrics
from kenning.pipelines.answering import LLM_FAILED_PREFIX
from kenning.settings import ObservabilitySettings
from kenning.types import Answer


def spend_of(answer: Answer, settings: ObservabilitySettings) -> Spend:
    """Tokens the LLM reported for ``answer`` and their cost under the price table; a
    model missing from the table (a local model) costs nothing."""
    tokens_in = int(answer.usage.get("prompt_tokens", 0))
    tokens_out = int(answer.usage.get("completion_tokens", 0))
    price = settings.prices.get(answer.model or "")
    if price is None:
        return Spend(tokens_in, tokens_out, 0.0)
    cost = tokens_in / 1000 * price.input_per_1k + tokens_out / 1000 * price.output_per_1k
    return Spend(tokens_in, tokens_out, cost)


class AnswerRecorder:
    def __init__(
        self,
        conversations: ConversationRepository,
        metrics: Metrics,
        settings: ObservabilitySettings,
    ) -> None:
        self.conversations = conversations
        self.metrics = metrics
        self.settings = settings

    def record(
        self,
        tenant: str,
        username: str,
        conversation: Conversation | None,
        answer: Answer,
        seconds: float,
    ) -> str:
        """Store ``answer`` (given ``seconds`` after the question) and return its id."""
        spend = spend_of(answer, self.settings)
        answer_id = self.conversations.record_exchange(
            tenant, username, conversation, answer, seconds * 1000, spend
        )
        self.metrics.observe_answer(tenant, answer, seconds, spend.cost, self.settings.currency)
        if answer.notice is not None and answer.notice.startswith(LLM_FAILED_PREFIX):
            self.metrics.llm_fallbacks.inc()
        return answer_id

    def feedback(
        self, tenant: str, username: str, answer_id: str, rating: int, comment: str
    ) -> None:
        self.conversations.add_feedback(tenant, username, answer_id, rating, comment)
        self.metrics.feedback.labels("up" if rating > 0 else "down").inc()

    def escalate(
        self, tenant: str, username: str, conversation_id: str, reason: str
    ) -> Conversation:
        at = time.time()
        conversation = self.conversations.escalate(tenant, username, conversation_id, reason, at=at)
        if conversation.escalated_at == at:  # this call escalated it, not an earlier one
            self.metrics.escalations.inc()
        return conversation
