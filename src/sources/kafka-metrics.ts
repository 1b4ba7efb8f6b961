/**
 * Kafka-only metrics that the shared ingest set does not have. Registered once per registry
 * (several Kafka sources in one process share the series, told apart by their labels).
 */
import { Counter, type Registry } from '../telemetry/metrics.js';

const gapCounters = new WeakMap<Registry, Counter>();

/**
 * `meshtrail_kafka_gap_messages_total{source,topic,partition}`: messages that retention deleted
 * before meshtrail stored them (the stored position was below the partition's log start).
 * Anything above zero is data loss upstream of meshtrail and deserves an alert.
 */
export function kafkaGapMessages(registry: Registry): Counter {
  let counter = gapCounters.get(registry);
  if (!counter) {
    counter = registry.register(new Counter('meshtrail_kafka_gap_messages_total',
      'Messages deleted by retention before they were stored (stored position below the log start offset).'));
    gapCounters.set(registry, counter);
  }
  return counter;
}
