"""Prometheus metrics at `/metrics`: requests, upload latency, model time per stage, refusals.

Labels carry only what the code itself names (route names, status codes, error codes, stages,
the models' version), never anything from a request: no address, path, file name or location.
Under gunicorn (PROMETHEUS_MULTIPROC_DIR, set by gunicorn.conf.py or serve.sh) each worker
writes its own files and `/metrics` sums every worker's; otherwise this process's registry.
"""
from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

UPLOAD_ENDPOINTS = {"api.predict", "views.analyse"}
REQUESTS = Counter("busi_http_requests", "Requests answered, by route and status.", ["endpoint", "status"])
UPLOAD_SECONDS = Histogram("busi_upload_seconds", "Time the app took over an upload (POST), by route.",
                           ["endpoint"], buckets=(.025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2, 5, 10, 30))
STAGE_SECONDS = Histogram("busi_model_stage_seconds", "Model time per stage of a prediction.",
                          ["stage", "model_version"], buckets=(.005, .01, .02, .03, .05, .075, .1, .2, .5, 1))
REFUSALS = Counter("busi_refusals", "Requests refused with a 4xx, by the app's error code.", ["reason"])


def count_refusal(code: str) -> None:
    REFUSALS.labels(code).inc()


def _start_clock() -> None:
    g.metrics_start = time.perf_counter()


def _observe(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"  # a 404 has no route: never the path itself
    REQUESTS.labels(endpoint, str(response.status_code)).inc()
    if request.method == "POST" and endpoint in UPLOAD_ENDPOINTS and "metrics_start" in g:
        UPLOAD_SECONDS.labels(endpoint).observe(time.perf_counter() - g.metrics_start)
    version = current_app.extensions["pipeline"].version
    for stage, milliseconds in g.get("model_timings", {}).items():
        STAGE_SECONDS.labels(stage, version).observe(milliseconds / 1000)
    return response


def metrics() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def install(app: Flask) -> None:
    app.before_request(_start_clock)
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", metrics)
