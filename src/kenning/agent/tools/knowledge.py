"""``search_knowledge``: the answering pipeline's retrieval, under the caller's ACL.

It returns the same assembled, numbered passages a plain answer would use (the loop
renumbers them across the run), so agent answers cite exactly like ``/v1/chat``.
"""

from __future__ import annotations

from typing import Any

from kenning.agent.registry import Tool, ToolContext, ToolOutput
from kenning.pipelines.answering import Assistant

SCHEMA = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "description": "What to look for, in the user's words or a rephrasing.",
        }
    },
    "required": ["query"],
    "additionalProperties": False,
}


def search_knowledge(assistant: Assistant) -> Tool:
    def handler(ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        draft = assistant.context_for(arguments["query"], principal=ctx.caller.principal)
        if not draft.passages:
            return ToolOutput("No document you may read matches this query.")
        return ToolOutput(passages=tuple(draft.passages))

    return Tool(
        name="search_knowledge",
        description=(
            "Search the company's documents the user may read. Returns numbered passages;"
            " cite them as [n]."
        ),
        parameters=SCHEMA,
        handler=handler,
    )
