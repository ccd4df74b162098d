"""``kenning agent ask``: the tool-using agent in a terminal, acting as one user.

The operator names the user (``--user``); the agent then has exactly that user's role,
groups and tool allow-list. Each side-effecting action is shown with its arguments and
executed only if you answer yes (``--reject-all`` answers no to every one, for scripts).
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.markup import escape

from kenning.agent import AgentResult
from kenning.auth.models import ROLE_PERMISSIONS, Caller, CredentialKind
from kenning.cli.context import console, err_console, fail, print_json, state
from kenning.types import DEFAULT_TENANT

app = typer.Typer(help="The tool-using support agent.", no_args_is_help=True)


@app.command("ask")
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question or request.")],
    user: Annotated[str, typer.Option(help="Act as this user (their permissions apply).")],
    tenant: Annotated[str, typer.Option(help="The user's tenant.")] = DEFAULT_TENANT,
    reject_all: Annotated[
        bool, typer.Option("--reject-all", help="Reject every proposed action unasked.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Ask the agent; confirm or reject each action it proposes."""
    comps = state(ctx).components
    found = comps.auth.repo.get_user(tenant, user)
    if found is None or not found[0].active:
        fail(f"no active user {user!r} in tenant {tenant!r}")
    caller = Caller(found[0], CredentialKind.TOKEN, ROLE_PERMISSIONS[found[0].role])
    agent = comps.agent
    if agent is None:
        fail("the agent needs a tools-capable LLM: set KENNING_LLM__BASE_URL")
    conv = comps.conversations.start(tenant, user, question)
    started = time.perf_counter()
    result = agent.run(question, caller, conv.id, client="cli")
    while result.pending:
        action = result.pending[0]
        # on stderr, so that stdout is only the result (``--json``)
        err_console.print(f"\n[bold]{escape(action.tool)}[/] wants to run with:", highlight=False)
        err_console.print(escape(json.dumps(action.arguments, indent=2, ensure_ascii=False)))
        confirm = not reject_all and typer.confirm("Run it?", default=False, err=True)
        result = agent.decide(caller, action.id, confirm=confirm, client="cli")
    comps.recorder.record(tenant, user, conv, result.answer, time.perf_counter() - started)
    _show(result, as_json=as_json)


def _show(result: AgentResult, *, as_json: bool) -> None:
    answer = result.answer
    if as_json:
        print_json(
            {
                "status": result.run.status.value,
                "text": answer.text,
                "steps": result.run.log,
                "citations": [
                    {"number": c.number, "title": c.passage.title, "source": c.passage.source}
                    for c in answer.citations
                ],
            }
        )
        return
    console.print(f"\n{escape(answer.text)}", highlight=False)
    if answer.notice:
        console.print(f"[dim]{escape(answer.notice)}[/]")
    for c in answer.citations:
        console.print(f"[{c.number}] {escape(c.passage.title)}", highlight=False)
