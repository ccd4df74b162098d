"""OpenTelemetry tracing: one span per pipeline stage, content out unless enabled.

The pipelines use only the OpenTelemetry *API* (``stage`` below), which is a no-op until
a tracer provider is installed. ``configure`` installs the SDK's provider when
``observability.tracing_enabled`` is set, exporting over OTLP/HTTP if an endpoint is
configured (``pip install 'kenning[otlp]'``). An application embedding Kenning can
instead install its own provider: Kenning's spans then join its traces.

The span tree of one chat request::

    POST /v1/chat                    server span (middleware; W3C traceparent honoured)
    └── answer                       kenning.mode, kenning.groundedness, kenning.evidence
        ├── retrieve                 kenning.k, kenning.search_mode, kenning.hits, kenning.top_score
        │   ├── retrieve.keyword     kenning.hits
        │   ├── retrieve.embed_query
        │   ├── retrieve.dense       kenning.hits, kenning.top_score
        │   ├── retrieve.fusion
        │   └── retrieve.load        kenning.hits
        ├── assemble                 kenning.passages, kenning.evidence
        ├── generate | extract       gen_ai.request.model, gen_ai.usage.input/output_tokens
        └── cite                     kenning.citations, kenning.groundedness

Question and answer text go on the ``answer`` span only with
``observability.capture_content`` (``kenning.question``, ``kenning.answer``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.util.types import Attributes

from kenning.errors import ConfigurationError
from kenning.settings import ObservabilitySettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

tracer = trace.get_tracer("kenning")
"""A proxy: it follows whatever provider is installed, even one installed later."""


@contextmanager
def stage(
    name: str, attributes: Attributes = None, *, parent: Context | None = None
) -> Iterator[Span]:
    """A span around one stage, current while it runs; exceptions are recorded on it.

    Only for blocks that do not ``yield`` to a consumer: a generator resumed in another
    thread cannot detach a context it attached elsewhere (use ``start`` there).
    """
    with tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
        yield span


def start(name: str, attributes: Attributes = None, *, parent: Context | None = None) -> Span:
    """A span that is not made current: the caller ends it (streaming stages)."""
    return tracer.start_span(name, context=parent, attributes=attributes)


def within(span: Span) -> AbstractContextManager[Span]:
    """Make ``span`` current for a block that does not ``yield`` (it stays open after)."""
    return trace.use_span(span, end_on_exit=False)


def context_of(span: Span) -> Context:
    """A context whose current span is ``span``: the parent for its child stages."""
    return trace.set_span_in_context(span)


def configure(settings: ObservabilitySettings) -> bool:
    """Install the SDK tracer provider if tracing is enabled; True if one was installed.

    The provider is process-wide (OpenTelemetry allows setting it once), so this belongs to
    the process entry point (``kenning serve``), not to every app built in a process.
    """
    if not settings.tracing_enabled:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(settings.otlp_endpoint)))
    trace.set_tracer_provider(provider)
    return True


def otlp_exporter(endpoint: str) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigurationError(
            "exporting traces over OTLP needs its exporter: pip install 'kenning[otlp]'"
        ) from exc
    return OTLPSpanExporter(endpoint=endpoint)
