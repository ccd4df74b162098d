"""Traces leave over OTLP/HTTP: a real local HTTP server receives the exporter's
protobuf request and it decodes to Kenning's spans, with the configured service name."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from kenning.observability.tracing import configure, otlp_exporter
from kenning.settings import ObservabilitySettings


class Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_spans_are_exported_over_otlp_http(collector: Collector) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": "kenning-test"}))
    provider.add_span_processor(SimpleSpanProcessor(otlp_exporter(endpoint)))
    tracer = provider.get_tracer("kenning")
    with tracer.start_as_current_span("answer") as span:
        span.set_attribute("kenning.mode", "llm")
        with tracer.start_as_current_span("retrieve"):
            pass
    provider.shutdown()
    assert [path for path, _ in collector.received] == ["/v1/traces"] * 2
    names, service = [], set()
    for _, body in collector.received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service |= {a.value.string_value for a in resource_spans.resource.attributes
                        if a.key == "service.name"}  # fmt: skip
            names += [s.name for ss in resource_spans.scope_spans for s in ss.spans]
    assert sorted(names) == ["answer", "retrieve"]
    assert service == {"kenning-test"}


def test_configure_installs_the_exporting_provider(collector: Collector) -> None:
    """``tracing.configure`` as ``kenning serve`` calls it, in a process of its own (the
    tracer provider is process-wide): a stage span reaches the collector on shutdown."""
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    script = (
        "from opentelemetry import trace\n"
        "from kenning.observability import tracing\n"
        "from kenning.settings import ObservabilitySettings\n"
        f"s = ObservabilitySettings(tracing_enabled=True, otlp_endpoint={endpoint!r},"
        " service_name='kenning-sub')\n"
        "assert tracing.configure(s)\n"
        "with tracing.stage('retrieve', {'kenning.k': 5}):\n"
        "    pass\n"
        "trace.get_tracer_provider().shutdown()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    spans = [
        s
        for _, body in collector.received
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    assert [s.name for s in spans] == ["retrieve"]
    assert [(a.key, a.value.int_value) for a in spans[0].attributes] == [("kenning.k", 5)]
    assert configure(ObservabilitySettings(tracing_enabled=False)) is False  # nothing set
