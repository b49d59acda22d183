"""The `semsearch` command: the CLI edge's commands plus `semsearch serve`, composed here (the
composition layer, with `services.server`), so that no edge imports another."""

from __future__ import annotations

from pathlib import Path

import click

from semsearch.settings import get_settings
from services.cli import command_group


@click.command("serve")
@click.option("--host", help="Address to bind (default SEMSEARCH_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default SEMSEARCH_PORT, 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default SEMSEARCH_WORKERS, 1).")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to serve.")
@click.option("--ray", "on_ray", is_flag=True, help="Serve with Ray Serve replicas (SEMSEARCH_RAY_MIN/MAX_REPLICAS) "
              "on RAY_ADDRESS's cluster, else a local one.")
def serve_command(host: str | None, port: int | None, workers: int | None, index_dir: Path | None,
                  on_ray: bool) -> None:
    """Serve the HTTP API and search page (POST /query, /healthz, /readyz, /metrics, /docs), and the
    Slack bot when configured, until SIGTERM."""
    try:
        if on_ray:
            from services.server.ray_serve import run_ray_server as run_server
        else:
            from services.server.run import run_server  # the web stack is imported only here
    except ModuleNotFoundError as exc:
        extra = "api,ray" if on_ray else "api"
        raise click.ClickException(f"`semsearch serve` needs {exc.name}: pip install 'semsearch[{extra}]'.") from exc
    flags = {"host": host, "port": port, "workers": workers, "index_dir": index_dir}
    run_server(get_settings().model_copy(update={k: v for k, v in flags.items() if v is not None}))


@click.command("mcp")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to serve (default SEMSEARCH_INDEX_DIR).")
def mcp_command(index_dir: Path | None) -> None:
    """Serve the notes to an AI assistant over MCP on stdin/stdout (tools search, get, status), until
    the assistant closes the connection. Logs go to stderr. See docs/mcp.md."""
    try:
        from services.mcp import run_stdio  # the MCP SDK is imported only here
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"`semsearch mcp` needs {exc.name}: pip install 'semsearch[mcp]'.") from exc
    settings = get_settings()
    run_stdio(settings.model_copy(update={"index_dir": index_dir}) if index_dir is not None else settings)


main = command_group(serve_command, mcp_command)

if __name__ == "__main__":
    main()
