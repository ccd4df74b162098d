"""A small MCP server written with the official SDK, for the agent's MCP client tests.

``python -m tests.fakes.mcp_tools`` serves it over stdio. Tools: ``lookup_order``
(read-only) and ``refund_order`` (a side effect: each call appends a line to the file
named by ``FAKE_MCP_LEDGER``, so a test can count executions across processes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mcp.server import MCPServer

server = MCPServer("fake-shop")


@server.tool()
def lookup_order(order_id: str) -> dict[str, str]:
    """The status of an order."""
    return {"order_id": order_id, "status": "shipped"}


@server.tool()
def refund_order(order_id: str, amount: float) -> str:
    """Refund an order."""
    ledger = Path(os.environ["FAKE_MCP_LEDGER"])
    with ledger.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"order_id": order_id, "amount": amount}) + "\n")
    return f"refunded {amount} on {order_id}"


if __name__ == "__main__":
    server.run()
