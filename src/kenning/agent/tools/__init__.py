"""Built-in tool families, one module each: knowledge search, helpdesk, OpenAPI, MCP."""
