"""Logs and metrics, shared by the api and the worker (no I/O but stdout).

- ``logger``: the one structured JSON logger (Powertools Logger). Log lines carry
  ids, statuses, codes, counts and durations; never a body, a header value, a
  signature, a token or a secret.
- ``metrics``: Powertools Metrics in CloudWatch's Embedded Metric Format: each
  flush prints one JSON line that CloudWatch Logs turns into metrics, with no
  API call of its own. The alarms in ``infra/`` watch these names.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "ZohoWebhookAdapter"

# The metric names: the alarms and the dashboard in infra/ refer to these.
# api function: one per webhook request, by outcome.
WEBHOOKS_RECEIVED = "WebhooksReceived"
WEBHOOKS_REFUSED = "WebhooksRefused"  # a 4xx answer
WEBHOOKS_UNAVAILABLE = "WebhooksUnavailable"  # a 503 answer
DELIVERIES_QUEUED = "DeliveriesQueued"
DELIVERIES_DUPLICATE = "DeliveriesDuplicate"
DELIVERIES_IGNORED = "DeliveriesIgnored"
# worker function: one per delivery attempt, by outcome.
DELIVERIES_APPLIED = "DeliveriesApplied"
DELIVERIES_UNCHANGED = "DeliveriesUnchanged"
DELIVERIES_STALE = "DeliveriesStale"
DELIVERIES_FAILED = "DeliveriesFailed"
DELIVERIES_DEAD = "DeliveriesDead"
DELIVERIES_RETRIED = "DeliveriesRetried"
TOKEN_REFRESHES = "TokenRefreshes"  # noqa: S105 (a metric name)
TOKEN_ERRORS = "TokenErrors"  # noqa: S105 - a refresh that Zoho refused or did not answer
ZOHO_LATENCY = "ZohoLatency"  # milliseconds per Zoho CRM call

logger = Logger(service="zwa")
metrics = Metrics(namespace=NAMESPACE, service="zwa")
# The messages of a batch are handled on several threads; Metrics' set is not guarded.
_METRICS_LOCK = threading.Lock()


def count(name: str, value: int = 1) -> None:
    """Add ``value`` to the counter ``name`` (flushed at the end of the invocation)."""
    with _METRICS_LOCK:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    """Record a duration in milliseconds."""
    with _METRICS_LOCK:
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)


def flush_metrics() -> None:
    """Print what was counted since the last flush, as one EMF line; nothing when empty."""
    with _METRICS_LOCK:
        if metrics.metric_set:
            metrics.flush_metrics()
