"""The MCP edge: semsearch's search as Model Context Protocol tools for AI assistants.

Needs the `mcp` extra (`pip install 'semsearch[mcp]'`). `create_mcp_server` builds the server over
any source of a live index: `semsearch mcp` runs it over stdio (`run_stdio`); `semsearch serve`
mounts it over streamable HTTP at `/mcp` on the API's live index (`services.server`). Tools:
`search`, `get` (lines of an indexed note) and `status`; notes are also resources (`note://PATH`).
"""

from __future__ import annotations

from .server import create_mcp_server, run_stdio

__all__ = ["create_mcp_server", "run_stdio"]
