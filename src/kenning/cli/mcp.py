"""``kenning mcp serve``: Kenning as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kenning.cli.context import fail, state
from kenning.errors import ConfigurationError

app = typer.Typer(help="Kenning as an MCP server (needs kenning[mcp]).", no_args_is_help=True)


@app.command("serve")
def serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP at /mcp.")] = False,
    stdio: Annotated[bool, typer.Option("--stdio", help="stdin/stdout (the default).")] = False,
    host: Annotated[str, typer.Option(help="HTTP: address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP: port.")] = 8765,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="KENNING_MCP_API_KEY",
            help="stdio: the API key whose user the server acts as (its permissions apply).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the tools ``search`` and ``ask`` with the caller's permissions.

    HTTP clients send ``Authorization: Bearer <API key>`` with every request; a stdio
    server acts for the user of ``--api-key`` / ``KENNING_MCP_API_KEY``.
    """
    if http and stdio:
        fail("choose one of --http and --stdio")
    try:
        from kenning.mcp import server as mcp_server
    except ImportError as exc:
        raise ConfigurationError("the MCP server needs: pip install 'kenning[mcp]'") from exc
    comps = state(ctx).components
    if http:
        import uvicorn

        uvicorn.run(mcp_server.http_app(comps, host=host), host=host, port=port, log_config=None)
        return
    if not api_key:
        fail("a stdio MCP server needs --api-key or KENNING_MCP_API_KEY")
    caller = mcp_server.authenticate(comps, f"Bearer {api_key}")
    os.environ.pop("KENNING_MCP_API_KEY", None)  # not inherited by anything this starts
    mcp_server.build_server(comps, stdio_caller=caller).run()
