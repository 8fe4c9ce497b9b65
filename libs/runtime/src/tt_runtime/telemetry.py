"""OpenTelemetry traces and metrics, and the Prometheus registry each process exposes."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge

from .settings import RuntimeSettings


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    registry: CollectorRegistry
    relay_published: Counter
    relay_failures: Counter
    outbox_pending: Gauge
    dead_letters: Counter

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def setup_telemetry(settings: RuntimeSettings) -> Telemetry:
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.version": settings.service_version,
            "deployment.environment": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource)
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # The global provider lets libraries (and faststream's middleware) find it; the first wins.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)

    # OTel metrics go to the collector when one is configured; Prometheus scrapes /metrics either way.
    readers = []
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/metrics"
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint)))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    registry = CollectorRegistry()
    labels = ["service"]
    return Telemetry(
        tracer_provider=provider,
        meter_provider=meter_provider,
        registry=registry,
        relay_published=Counter("tt_relay_published", "Outbox rows published", labels, registry=registry),
        relay_failures=Counter("tt_relay_failures", "Outbox publish failures", labels, registry=registry),
        outbox_pending=Gauge("tt_outbox_pending", "Outbox rows not yet published", labels, registry=registry),
        dead_letters=Counter(
            "tt_dead_letters", "Messages dead-lettered", [*labels, "consumer"], registry=registry
        ),
    )
