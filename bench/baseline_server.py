"""The plain baseline for bench/http_bench.py: FastAPI + sentence-transformers `encode` +
IndexFlatIP over the vectors of the published build in $SEMSEARCH_INDEX_DIR. No hybrid ranking,
no calibration, no duplicate collapse: what a minimal service would do."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import faiss
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

from semsearch.embedders.models import resolve_model

INDEX = Path(os.environ.get("SEMSEARCH_INDEX_DIR", "index"))
BUILD = INDEX / "builds" / (INDEX / "CURRENT").read_text().strip()
_stored = faiss.read_index(str(BUILD / "vectors.faiss"))
vectors = _stored.reconstruct_n(0, _stored.ntotal)
flat = faiss.IndexFlatIP(vectors.shape[1])
flat.add(vectors)
texts = [json.loads(line)["text"] for line in (BUILD / "chunks.jsonl").read_text().splitlines()]
model = SentenceTransformer(str(resolve_model("sentence-transformers/all-MiniLM-L6-v2").model_dir()), device="cpu")
app = FastAPI()


class Query(BaseModel):
    query: str
    top_k: int = 5


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/query")
def query(body: Query) -> dict[str, Any]:
    vector = model.encode([body.query], normalize_embeddings=True, convert_to_numpy=True)
    scores, ids = flat.search(vector, body.top_k)
    hits = zip(scores[0], ids[0], strict=True)
    return {"results": [{"score": float(s), "text": texts[i]} for s, i in hits if i >= 0]}
