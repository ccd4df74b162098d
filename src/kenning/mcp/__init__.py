"""Kenning as an MCP server (``kenning mcp serve``): other agents search and ask the
knowledge base with their caller's permissions. Needs ``pip install 'kenning[mcp]'``."""
