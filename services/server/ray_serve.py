"""`semsearch serve --ray`: the HTTP API as a Ray Serve deployment of several replicas.

Each replica builds the app with `create_server_app` (the same routes, error shape, auth,
limits and metrics as `semsearch serve`) and serves the build published under `index_dir`, which
every node must see (shared storage); each replica picks up new builds as `semsearch serve` does.
Ray Serve's proxy spreads requests over the replicas and scales them between the settings'
`ray_min_replicas` and `ray_max_replicas`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from semsearch.settings import Settings
from services.api.auth import check_bind, load_api_keys

from .app import create_server_app

logger = logging.getLogger(__name__)

APP_NAME = "semsearch"
TARGET_ONGOING_REQUESTS = 4  # per replica, before Serve adds one (up to ray_max_replicas)


@serve.ingress()
class SemsearchReplica:
    """One replica: `create_server_app(settings)`, built when the replica starts (its lifespan loads the
    embedder and the index there, not in the driver)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_server_app(self.settings)


def build_app(settings: Settings, *, cpus_per_replica: float = 1.0) -> Application:
    """The Serve application for `settings` (paths made absolute: replicas run elsewhere)."""
    if settings.ray_min_replicas > settings.ray_max_replicas:
        raise ValueError(f"SEMSEARCH_RAY_MIN_REPLICAS ({settings.ray_min_replicas}) is above "
                         f"SEMSEARCH_RAY_MAX_REPLICAS ({settings.ray_max_replicas}).")
    paths = {"index_dir": settings.index_dir.absolute()}
    if settings.api_keys_file is not None:
        paths["api_keys_file"] = settings.api_keys_file.absolute()
    settings = settings.model_copy(update=paths)
    autoscaling: dict[str, Any] = {
        "min_replicas": settings.ray_min_replicas, "initial_replicas": settings.ray_min_replicas,
        "max_replicas": settings.ray_max_replicas, "target_ongoing_requests": TARGET_ONGOING_REQUESTS,
    }
    deployment = serve.deployment(name=APP_NAME, autoscaling_config=autoscaling,
                                  ray_actor_options={"num_cpus": cpus_per_replica})(SemsearchReplica)
    app: Application = deployment.bind(settings)
    return app


def start(settings: Settings, *, blocking: bool = False) -> None:
    """Start Serve's HTTP proxy on settings.host:port and deploy the app. Returns once every
    initial replica is up, or with `blocking` at Ctrl-C. Ray must already be connected."""
    check_bind(settings.host, load_api_keys(settings))  # before any replica starts
    serve.start(http_options={"host": settings.host, "port": settings.port})
    logger.info("Ray Serve: semsearch on http://%s:%d", settings.host, settings.port)
    serve.run(build_app(settings), name=APP_NAME, route_prefix="/", blocking=blocking)


def run_ray_server(settings: Settings) -> None:
    """What `semsearch serve --ray` calls: connect to Ray (RAY_ADDRESS, else a new local instance),
    serve until SIGINT or SIGTERM, then remove the deployment (and stop a local Ray it started)."""
    import signal

    import ray

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if not ray.is_initialized():
        ray.init()
    for signum in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which sets its own
        signal.signal(signum, stop)
    try:
        start(settings, blocking=True)
    except KeyboardInterrupt:
        logger.info("stopping Ray Serve")
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()
