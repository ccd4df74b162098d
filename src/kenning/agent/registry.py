"""Tools: a name, a JSON Schema for the arguments, a handler, and whether it has side effects.

The registry is what the model is offered (``specs``, in OpenAI's tools format) and what
the loop looks calls up in. Arguments are validated against the tool's schema before the
handler ever sees them, so a handler can trust their shape, and a model sending nonsense
gets a precise error back instead of a half-executed call.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from kenning.auth.models import Caller
from kenning.errors import ConfigurationError, InvalidInputError
from kenning.types import Passage

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What OpenAI-compatible servers accept as a function name (hence ``mcp__x__y``, no dots)."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a tool runs for and where: handlers act with the caller's permissions only."""

    caller: Caller
    run_id: str
    conversation_id: str | None
    call_id: str
    """Stable for one proposed call: sent as an idempotency key, so a retried side
    effect (a ticket after a timeout) is not done twice by a helpdesk that honours it."""
    client: str = ""


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a tool returns: text or JSON-able data for the model, and any passages found
    (the loop numbers them across the run so the final answer can cite them)."""

    data: Any = None
    passages: tuple[Passage, ...] = ()

    def text(self) -> str:
        if isinstance(self.data, str):
            return self.data
        return json.dumps(self.data, ensure_ascii=False, default=str)


Handler = Callable[[ToolContext, dict[str, Any]], ToolOutput]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]
    """A JSON Schema of type ``object``."""
    handler: Handler
    side_effect: bool = False
    """Changes something outside Kenning (a ticket, an order): needs the user's confirmation."""
    timeout_s: float | None = None
    """Per attempt; ``None``: ``agent.tool_timeout_s``."""
    endpoint: str = ""
    """What the circuit breaker is keyed by (tools sharing a server share a breaker);
    default: the tool's name."""
    _validator: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not TOOL_NAME.match(self.name):
            raise ConfigurationError(f"tool name {self.name!r} must match {TOOL_NAME.pattern}")
        try:
            jsonschema.Draft202012Validator.check_schema(dict(self.parameters))
        except jsonschema.SchemaError as exc:
            raise ConfigurationError(f"tool {self.name}: invalid schema: {exc.message}") from exc
        object.__setattr__(self, "_validator", jsonschema.Draft202012Validator(self.parameters))

    @property
    def breaker_key(self) -> str:
        return self.endpoint or self.name

    def spec(self) -> dict[str, Any]:
        """The tool as OpenAI's ``tools`` array wants it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def parse_arguments(self, raw: str) -> dict[str, Any]:
        """The model's JSON arguments, validated; ``InvalidInputError`` says what is wrong."""
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise InvalidInputError(f"arguments are not valid JSON: {exc}") from exc
        if not isinstance(arguments, dict):
            raise InvalidInputError("arguments must be a JSON object")
        errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            raise InvalidInputError(f"invalid arguments at {where}: {errors[0].message}")
        return arguments


class ToolRegistry:
    """Every tool this installation offers, by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ConfigurationError(f"two tools are named {tool.name!r}")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._tools)

    def allowed(self, role: str, role_tools: Mapping[str, Sequence[str]]) -> list[Tool]:
        """The tools a role may use: those matching one of its patterns (none if the role
        is not listed: the allow-list is deny-by-default)."""
        return [t for name, t in sorted(self._tools.items()) if allows(role_tools, role, name)]


def allows(role_tools: Mapping[str, Sequence[str]], role: str, tool: str) -> bool:
    return any(fnmatch.fnmatchcase(tool, pattern) for pattern in role_tools.get(role, ()))
