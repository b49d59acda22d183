#!/bin/sh
# The container's command: index the notes if the index volume holds no build yet, then serve.
# `exec` hands PID 1 to the server, so `docker stop` (SIGTERM) reaches uvicorn, which finishes
# in-flight requests and exits. Arguments are passed to `semsearch serve`.
set -eu
if [ ! -s "${SEMSEARCH_INDEX_DIR:-index}/CURRENT" ]; then
    semsearch index
fi
exec semsearch serve --host "${SEMSEARCH_HOST:-0.0.0.0}" "$@"
