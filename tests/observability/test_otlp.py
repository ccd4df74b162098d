"""Traces leave over OTLP/HTTP: a real local HTTP server receives the exporter's
protobuf request and it decodes to Kenning's spans, with the configured service name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from kenning.observability.tracing import otlp_exporter


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
