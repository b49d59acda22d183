"""`python -m services.slack [--mode http|socket]`: load settings, open the live index, run the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from semsearch.errors import SemsearchError
from semsearch.settings import get_settings
from semsearch.wiring import open_live_index

from .bot import SlackConfigError, check_settings, create_slack_app
from .transport import missing_http_stack, run_http, run_socket

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.slack", description=__doc__)
    parser.add_argument("--mode", choices=["http", "socket"],
                        help="override SEMSEARCH_SLACK_MODE (default: http)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
    except SemsearchError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    if args.mode:
        settings = settings.model_copy(update={"slack_mode": args.mode})
    try:
        check_settings(settings)
        missing = missing_http_stack() if settings.slack_mode == "http" else []
        if missing:  # before a first build, which can take minutes
            raise SlackConfigError(f"Slack http mode needs {' and '.join(missing)}: "
                                   "pip install 'semsearch[slack,api]' (or use --mode socket).")
        # the configured index, built from the notes first if there is none yet; new builds are
        # picked up as they are published
        index = open_live_index(settings, build_if_missing=True)
        app = create_slack_app(index.searcher, settings)
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
