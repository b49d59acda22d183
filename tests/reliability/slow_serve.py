"""`semsearch` with a query embedding that takes SLOW_QUERY_SECONDS: `python -m tests.reliability.slow_serve
serve ...` keeps requests in flight long enough for the SIGTERM test to signal during them."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import semsearch.wiring
from semsearch.embedders import FloatArray
from semsearch.embedders.hashing import HashingEmbedder
from services.main import main


class SlowEmbedder(HashingEmbedder):
    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        time.sleep(float(os.environ.get("SLOW_QUERY_SECONDS", "1.0")))
        return super().embed_queries(texts)


if __name__ == "__main__":
    # every edge gets its embedder through `semsearch.wiring.embedder_for`, which calls this
    semsearch.wiring.load_embedder = lambda *args, **kwargs: SlowEmbedder()  # type: ignore[attr-defined]
    main()
