"""Observability: metrics, traces, logs, quality monitors and the business report.

See docs/observability.md. The pipelines only use ``tracing.stage`` (the OpenTelemetry
API); everything else is recorded by the layer that receives the pipelines' results.
"""
