"""`create_mcp_server`: the tools `search`, `get` and `status` (and notes as `note://` resources) over
a live index; `run_stdio`: what `semsearch mcp` runs. What the tools return is in `outputs.py`.

Each call asks the live index for its current searcher, so a build published while a client is
connected answers that client's next call. Errors are tool errors (`isError`) with one sentence:
a `QueryError`'s message as it is, a fixed sentence without paths when there is no index to serve.
"""

# No `from __future__ import annotations`: the tools' parameter schemas are built from annotations
# that use this function's locals (the server's limits), so they must be evaluated where written.
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, Resource, TextContent, ToolAnnotations
from pydantic import BaseModel, WithJsonSchema

from semsearch import Searcher, __version__
from semsearch.errors import (
    CALLER_FAILURES,
    NO_INDEX_MESSAGE,
    IndexNotFoundError,
    SemsearchError,
    failure_of,
    public_message,
)
from semsearch.filters import Filter
from semsearch.index.status import status_of
from semsearch.live import LiveIndex
from semsearch.reading.excerpt import MAX_EXCERPT_BYTES, MAX_EXCERPT_LINES, Excerpt
from semsearch.settings import Settings, get_settings
from semsearch.wiring import open_live_index, query_limits

from . import notes
from .outputs import BuildInfo, FileProblem, GetOutput, Passage, SearchOutput, StatusOutput, render_search

logger = logging.getLogger(__name__)

NAME = "semsearch"
NOTE_URI = "note://{+path}"
MAX_SOURCE_FILTER_CHARS = 500
INSTRUCTIONS = """Search the user's personal notes. Call `search` with a question; every passage comes
with its note (`source`) and lines, cite them as `source:start-end`. Call `get` to read the exact lines
around a passage. `abstained: true` means nothing in the notes answers the question confidently."""

IndexSource = Callable[[], LiveIndex | None]
ScopeSource = Callable[[], frozenset[str] | None]  # the collections the caller may see now (None: all)
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 50}


def _schema(schema: dict[str, Any]) -> Any:
    """A parameter the core validates (so its messages are the CLI's and API's), with this JSON schema."""
    return WithJsonSchema(schema)


def error_message(exc: SemsearchError) -> str:
    """The one sentence a client sees for a core error (index errors name no server path; their detail
    goes to the log)."""
    if failure_of(exc) not in CALLER_FAILURES and not isinstance(exc, IndexNotFoundError):
        logger.error("no index to serve: %s", exc)
    return public_message(exc)


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=model.model_dump(mode="json"))


class NotesServer(MCPServer[Any]):
    """MCPServer whose resource list is the notes of the build being served (one `note://` URI each)."""

    def __init__(self, current: Callable[[], Searcher], visible: ScopeSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._current = current
        self._visible = visible

    async def list_resources(self) -> list[Resource]:
        try:
            searcher = self._current()
        except SemsearchError:
            return []
        return notes.resources(searcher, self._visible())


def create_mcp_server(index: IndexSource, settings: Settings | None = None, *,
                      visible: ScopeSource = lambda: None) -> MCPServer[Any]:
    """The MCP server over whatever live index `index()` returns (None: none is open yet).
    `visible()`: the collections the current caller may see (a scoped API key's; None: all)."""
    settings = settings or get_settings()
    limits = query_limits(settings)

    def current() -> Searcher:
        live = index()
        if live is None:
            raise IndexNotFoundError(NO_INDEX_MESSAGE)
        return live.searcher()

    def excerpt(source: object, start_line: object, end_line: object, *, collection: object = None,
                scope: frozenset[str] | None = None, whole: bool = False) -> Excerpt:
        return notes.excerpt(current(), source, start_line, end_line, collection=collection, visible=scope,
                             max_file_bytes=settings.max_file_bytes, whole=whole)

    server = NotesServer(current, visible, name=NAME, title="semsearch: your notes", version=__version__,
                         instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    async def search(
        query: Annotated[object, _schema({"type": "string", "minLength": 1, "maxLength": limits.max_query_chars,
                                          "description": "A question or keywords, in the user's words."})],
        top_k: Annotated[object, _schema({"type": "integer", "minimum": 1, "maximum": limits.max_top_k,
                                          "default": settings.top_k,
                                          "description": "How many passages to return."})] = settings.top_k,
        source: Annotated[object, _schema({"type": "string", "minLength": 1, "maxLength": MAX_SOURCE_FILTER_CHARS,
                                           "description": "Only notes whose path starts with this, or matches "
                                           "this glob (`*` crosses `/`), e.g. `projects/` or `*.md`."})] = None,
        collections: Annotated[object, _schema({**_NAMES, "description": "Only these collections (any of them); "
                                                "default: every collection you may see."})] = None,
        tags_all: Annotated[object, _schema({**_NAMES, "description": "Only passages with every one of these "
                                             "tags."})] = None,
        tags_any: Annotated[object, _schema({**_NAMES, "description": "Only passages with one of these tags."})] = None,
        since: Annotated[object, _schema({"type": "string", "description": "Only notes dated from the start of "
                                          "this YYYY, YYYY-MM or YYYY-MM-DD."})] = None,
        until: Annotated[object, _schema({"type": "string", "description": "Only notes dated up to the end of "
                                          "this YYYY, YYYY-MM or YYYY-MM-DD."})] = None,
    ) -> Annotated[CallToolResult, SearchOutput]:
        """Search the user's notes: the passages that best answer `query`, best first, each with its note
        (`collection`, `source`), heading path and lines (`start_line`-`end_line`), and the build that
        answered. Filters: `collections`, `tags_all`, `tags_any`, `source` (path glob), `since`, `until`."""
        if source is not None and (not isinstance(source, str) or not 1 <= len(source) <= MAX_SOURCE_FILTER_CHARS):
            return _error(f"source must be a path prefix or glob of 1 to {MAX_SOURCE_FILTER_CHARS} characters.")
        scope = visible()

        def run() -> SearchOutput:
            found = Filter(collections=collections, tags_all=tags_all or (), tags_any=tags_any or (),  # type: ignore[arg-type]
                           since=since, until=until)  # type: ignore[arg-type]
            result = current().search(query, top_k=top_k, source=source, filter=found,  # type: ignore[arg-type]
                                      visible=scope)
            return SearchOutput.model_validate({**result.to_dict(), "results": [
                Passage.of(hit, settings.notes_base_url) for hit in result.hits]})

        try:
            with anyio.fail_after(settings.query_timeout):
                out = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except TimeoutError:
            return _error(f"The search took longer than its {settings.query_timeout:g} s budget; try again.")
        except SemsearchError as exc:
            return _error(error_message(exc))
        return _result(out, render_search(out))

    async def get(
        source: Annotated[object, _schema({"type": "string", "description": "The note's path, as a search "
                                           "result's `source` gives it (relative to the notes folder)."})],
        start_line: Annotated[object, _schema({"type": "integer", "minimum": 1,
                                               "description": "First line (1-based)."})],
        end_line: Annotated[object, _schema({"type": "integer", "minimum": 1, "description": "Last line "
                                             f"(inclusive); at most {MAX_EXCERPT_LINES} lines and "
                                             f"{MAX_EXCERPT_BYTES} bytes at a time."})],
        collection: Annotated[object, _schema({"type": "string", "description": "The note's collection, as a "
                                               "search result gives it (needed when the path is in several)."})]
        = None,
    ) -> Annotated[CallToolResult, GetOutput]:
        """The exact lines `start_line`-`end_line` of a note the index holds, for citing or reading
        around a search result (for a PDF, Word file, notebook or HTML page: lines of the text read
        from it, as the passages' lines are). Says so when the note changed after the build."""
        scope = visible()
        try:
            got = await anyio.to_thread.run_sync(lambda: excerpt(source, start_line, end_line, collection=collection,
                                                                 scope=scope))
            build_id = current().manifest.build_id
            named = notes.resolve(current(), source, collection, scope)
        except SemsearchError as exc:
            return _error(error_message(exc))
        out = GetOutput(collection=named, source=got.source, start_line=got.start_line, end_line=got.end_line,
                        text=got.text, line_count=got.line_count, changed_since_build=got.changed, build_id=build_id)
        head = f"{got.source}:{got.start_line}-{got.end_line} (of {got.line_count} lines)"
        if got.changed:
            head += "\nwarning: the note changed after the build; these lines may not match the citations."
        return _result(out, f"{head}\n{got.text}")

    async def status() -> Annotated[CallToolResult, StatusOutput]:
        """The build being searched: its id, age, model, file and chunk counts, and the files that were
        skipped or failed, with the reason."""
        try:
            info = status_of(current().index, visible())
        except SemsearchError as exc:
            return _error(error_message(exc))
        built = datetime.fromisoformat(info.built_at)
        age = (datetime.now(UTC) - (built if built.tzinfo else built.replace(tzinfo=UTC))).total_seconds()
        problems = [FileProblem(source=f.source, status=f.status, reason=f.reason or f.error)
                    for f in info.files if f.status in ("skipped", "failed")]
        out = StatusOutput(index=BuildInfo(build_id=info.build_id, built_at=info.built_at, model=info.model),
                           age_seconds=round(age, 1), file_count=info.file_count, chunk_count=info.chunk_count,
                           embedded=info.embedded, reused=info.reused, not_indexed=problems, removed=info.removed)
        lines = [f"build {info.build_id}, made {info.built_at} ({age / 3600:.1f} h ago), model {info.model}",
                 f"{info.file_count} files, {info.chunk_count} chunks"]
        lines += [f"  {p.status} {p.source}: {p.reason}" for p in problems]
        return _result(out, "\n".join(lines))

    def note(path: str) -> str:
        """A note of the index, whole (`~COLLECTION/PATH` outside the default collection)."""
        try:
            scope = visible()
            collection, source = notes.split_note_path(path)
            first = excerpt(source, 1, 1, collection=collection, scope=scope)
            return excerpt(source, 1, first.line_count, collection=collection, scope=scope, whole=True).text
        except SemsearchError as exc:
            raise ResourceError(error_message(exc)) from None

    for tool, title in ((search, "Search the notes"), (get, "Read lines of a note"), (status, "Index status")):
        server.add_tool(tool, title=title, annotations=read_only)
    server.resource(NOTE_URI, name="note", title="A note", mime_type="text/plain",
                    description="A note of the index by its path, e.g. note://guides/garden.md.")(note)
    return server


def run_stdio(settings: Settings | None = None) -> None:
    """`semsearch mcp`: serve MCP over stdin/stdout until the client closes them. Only protocol goes to
    stdout; logs go to stderr."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("semsearch.live").setLevel(logging.INFO)
    live = open_live_index(settings)
    try:
        create_mcp_server(lambda: live, settings).run("stdio")
    finally:
        live.close()
