"""The parent process of a multi-worker `semsearch serve`: `run_server` checks the settings, puts
them in the environment and replaces itself with `python -m services.server.master`, so that the
process that only supervises the workers holds uvicorn and none of the CLI's, API's or index's
imports. Each worker builds its app from the same environment (`create_server_app`)."""

from __future__ import annotations

import os

import uvicorn

from .logs import uvicorn_options

APP_FACTORY = "services.server.app:create_server_app"


def main() -> None:
    """Run `SEMSEARCH_WORKERS` worker processes on `SEMSEARCH_HOST`:`SEMSEARCH_PORT` until SIGTERM."""
    uvicorn.run(APP_FACTORY, factory=True, workers=int(os.environ["SEMSEARCH_WORKERS"]),
                host=os.environ["SEMSEARCH_HOST"], port=int(os.environ["SEMSEARCH_PORT"]), **uvicorn_options())


if __name__ == "__main__":
    main()
