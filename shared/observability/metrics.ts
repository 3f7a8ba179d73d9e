import { Metrics } from '@aws-lambda-powertools/metrics';
import { scopedRuntime } from '../runtime';
import { type DimensionsOf, METRICS, METRICS_NAMESPACE, type MetricName, type MetricUnit } from './catalog';
import { logger, onLambda } from './logger';

/** One data point, as the local engine counts it. */
export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  /** The catalogue's dimensions of this metric, in its order. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  /** The embedded metric format document, exactly as written on Lambda. */
  readonly emf: string;
}

/** One metric and dimension set as counted locally, for `GET /stats`. */
export interface MetricCount {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly unit: string;
  /** Data points emitted. */
  readonly points: number;
  /** Their sum: a count metric's total, a duration metric's total milliseconds. */
  readonly total: number;
}

/** Where the local engine counts the data points its handlers emit (`Runtime.metrics`). */
export interface MetricRecorder {
  record(point: MetricPoint): void;
  /** Stores what was recorded and not yet stored. */
  flush(): Promise<void>;
  /** Everything counted so far, in every process that shares the database. */
  counts(): Promise<MetricCount[]>;
}

/**
 * Powertools' Metrics builds each EMF document. No default dimension: each metric has exactly the
 * catalogue's dimension set, so an alarm or a dashboard names it by those alone.
 */
const emf = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: 'tenantry',
  logger: {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => logger.warn(message),
    error: (message: string) => logger.error(message),
  },
});
emf.clearDefaultDimensions();

const listeners = new Set<(point: MetricPoint) => void>();

/** Calls `listener` with every data point this process emits, until the returned function is called. */
export function onMetric(listener: (point: MetricPoint) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Emits one data point of a catalogued metric (shared/observability/catalog.ts). On Lambda it is an
 * EMF line on stdout, which CloudWatch turns into the metric; in the local engine the same document
 * goes to the run's recorder, which counts it for `GET /stats`. Dimensions are built, added,
 * serialised and cleared in one synchronous call, so points emitted by runs sharing a process
 * never mix. A metric never fails the work that emits it.
 */
export function putMetric<M extends MetricName>(name: M, dimensions: DimensionsOf<M>, value = 1): void {
  try {
    const definition = METRICS[name];
    const ordered: Record<string, string> = {};
    for (const key of definition.dimensions)
      ordered[key] = String((dimensions as Record<string, string>)[key] || 'unknown');
    emf.addDimensions(ordered);
    emf.addMetric(name, definition.unit, value);
    let document: string;
    try {
      document = JSON.stringify(emf.serializeMetrics());
    } finally {
      emf.clearMetrics();
      emf.clearDimensions();
    }
    if (onLambda()) process.stdout.write(`${document}\n`);
    const point: MetricPoint = { name, unit: definition.unit, dimensions: ordered, value, emf: document };
    scopedRuntime()?.metrics?.record(point);
    for (const listener of listeners) listener(point);
  } catch (error) {
    logger.warn('a metric could not be emitted', { metric: name, error: String(error) });
  }
}
