/** The sink dispatcher's metrics, registered on the registry the caller passes in. */
import { Counter, Gauge, Histogram, Registry } from '../telemetry/metrics.js';

/** Creates and registers the sink metrics (labels: `sink`, and `outcome`/`reason` on failures). */
export function sinkMetrics(registry: Registry = new Registry()) {
  return {
    registry,
    delivered: registry.register(new Counter('meshtrail_sink_events_delivered_total', 'Findings events acknowledged by a sink\'s receiver.')),
    failures: registry.register(new Counter('meshtrail_sink_send_failures_total', 'Failed sends, by sink, outcome (retry|reject) and reason (http_503, connect_refused, ...).')),
    lag: registry.register(new Gauge('meshtrail_sink_lag_events', 'Outbox events not yet acknowledged by the sink\'s receiver.')),
    parked: registry.register(new Gauge('meshtrail_sink_parked', '1 while a sink is parked after its receiver rejected the configuration.')),
    flowsDelivered: registry.register(new Counter('meshtrail_sink_flows_delivered_total', 'Raw flows (sinks with `flows:`) acknowledged by a sink\'s receiver.')),
    flowsLost: registry.register(new Counter('meshtrail_sink_flows_lost_total', 'Flows deleted by retention before a sink with `flows:` had forwarded them (an upper bound of the matching ones).')),
    flowsLag: registry.register(new Gauge('meshtrail_sink_flows_lag', 'Flows stored after a flow-forwarding sink\'s cursor, not yet examined.')),
    sendSeconds: registry.register(new Histogram('meshtrail_sink_send_seconds', 'Time of one send (batch) to a receiver.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])),
  };
}
export type SinkMetrics = ReturnType<typeof sinkMetrics>;
