"""Prometheus metrics: requests, latency histogram, errors; cache and per-version counts from the server."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from starlette.types import ASGIApp, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServerCollector:
    """Reads the model server's counters at scrape time (cache hits/misses, outputs per model version)."""

    def __init__(self, server):
        self.server = server

    def collect(self):
        counters = dict(self.server.counters)
        cache = CounterMetricFamily("mhdash_cache", "Cache lookups by result", labels=["result"])
        cache.add_metric(["hit"], counters.get("cache_hit", 0))
        cache.add_metric(["miss"], counters.get("cache_miss", 0))
        yield cache
        served = CounterMetricFamily("mhdash_predictions", "Texts scored, by heads version that served",
                                     labels=["model_version"])
        for name, n in counters.items():
            if name.startswith("served:"):
                served.add_metric([name.removeprefix("served:")], n)
        yield served


class Metrics:
    def __init__(self, server):
        self.registry = CollectorRegistry()
        self.requests = Counter("mhdash_requests", "HTTP requests", ["endpoint", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("mhdash_request_latency_seconds", "HTTP request latency", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("mhdash_errors", "Requests that ended in a server error (5xx) or an exception",
                              ["endpoint"], registry=self.registry)
        self.registry.register(ServerCollector(server))


class MetricsMiddleware:
    """Counts every HTTP request by route template (not raw path: unknown paths count as 'unmatched')."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            status["code"] = 500
            raise
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(endpoint, scope.get("method", ""), str(status["code"])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
            if status["code"] >= 500:
                self.metrics.errors.labels(endpoint).inc()
