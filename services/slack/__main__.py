"""`python -m services.slack [--mode http|socket]`: load settings, open the index, run the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from semsearch import Searcher
from semsearch.embedders import load_embedder
from semsearch.errors import IndexNotFoundError, SemsearchError
from semsearch.indexing import build_index
from semsearch.settings import Settings, get_settings, retrieval_config

from .bot import SlackConfigError, check_settings, create_slack_app
from .transport import run_http, run_socket

logger = logging.getLogger(__name__)


def open_searcher(settings: Settings) -> Searcher:
    """The configured index, built from `notes_dir` first if there is none yet."""
    embedder = load_embedder(settings.model, backend=settings.backend, device=settings.device,
                             precision=settings.precision)
    options = {"max_top_k": settings.max_top_k, "max_query_chars": settings.max_query_chars}
    retrieval = retrieval_config(settings)
    try:
        return Searcher.open(settings.index_dir, embedder, retrieval=retrieval, **options)
    except IndexNotFoundError:
        logger.warning("no index at %s yet: building one from %s (first run only)",
                       settings.index_dir, settings.notes_dir)
        build_index(settings.notes_dir, settings.index_dir, embedder, include=settings.include,
                    max_file_bytes=settings.max_file_bytes,
                    overlap_tokens=settings.chunk_overlap_tokens, batch_size=settings.batch_size)
        return Searcher.open(settings.index_dir, embedder, retrieval=retrieval, **options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.slack", description=__doc__)
    parser.add_argument("--mode", choices=["http", "socket"],
                        help="override SEMSEARCH_SLACK_MODE (default: http)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if args.mode:
        settings = settings.model_copy(update={"slack_mode": args.mode})
    try:
        check_settings(settings)
        app = create_slack_app(open_searcher(settings), settings)
    except (SlackConfigError, SemsearchError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    if settings.slack_mode == "socket":
        run_socket(app, settings)
    else:
        run_http(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
