"""Drives an MCP stdio server with the official Python SDK (`mcp`, pinned in xtask).

Usage: python py-client.py COMMAND [ARGS...]   (environment passed through to the server)
stdin:  {"steps": [{"op": "list"}, {"op": "call", "name": "...", "arguments": {...}}]}
stdout: one JSON line first {"op": "connected", "protocolVersion": ..., "serverInfo": ...},
        then one per step: {"op": "list", "tools": [...]}, {"op": "call", "result": {...}}
        or {"op": ..., "error": {"code": ..., "message": ...}}.
The client negotiates as it does by default: `server/discover` (2026-07-28) first.
"""

import json
import os
import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError


def emit(obj):
    print(json.dumps(obj), flush=True)


async def main():
    script = json.load(sys.stdin)
    params = StdioServerParameters(command=sys.argv[1], args=sys.argv[2:], env=dict(os.environ))
    async with Client(params, read_timeout_seconds=60) as client:
        info = client.server_info
        emit({
            "op": "connected",
            "protocolVersion": client.protocol_version,
            "serverInfo": info.model_dump(mode="json") if info else None,
        })
        for step in script["steps"]:
            try:
                if step["op"] == "list":
                    tools = await client.list_tools()
                    emit({"op": "list", "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools]})
                elif step["op"] == "call":
                    result = await client.call_tool(step["name"], step.get("arguments", {}))
                    emit({"op": "call", "result": result.model_dump(mode="json", by_alias=True, exclude_none=True)})
            except MCPError as e:
                emit({"op": step["op"], "error": {"code": e.error.code, "message": e.error.message}})


anyio.run(main)
