import { inputDrift, predictionDrift } from './drift';
import { DEFAULT_JUDGE_CRITERIA, type JudgeCriteria } from './judge';
import type { ReferenceProfile } from './reference-profile';
import { latencyQuantile, type TelemetryAggregate } from './telemetry-aggregate';

/**
 * What a rule watches. accuracy: the share of labelled classifications that
 * were right; drift: the larger of input and prediction drift (PSI) against
 * the reference profile; latency_p95: ms; error_rate: errors over requests.
 */
export type AlertMetric = 'accuracy' | 'drift' | 'latency_p95' | 'error_rate';
export type AlertSeverity = 'warning' | 'critical';

/** A rule over a version's aggregate, the way Prometheus alerting rules are written: a metric, a comparison, a threshold. */
export interface AlertRule {
  name: string;
  metric: AlertMetric;
  /** Fires when the metric is above (or below) the threshold. */
  comparison: 'above' | 'below';
  /** An absolute value, or with relativeToBaseline a multiple of the baseline's value. */
  threshold: number;
  /** accuracy < baseline × 0.9: the threshold times the baseline aggregate's value (for accuracy, the reference profile's when the baseline has too few labels). */
  relativeToBaseline: boolean;
  severity: AlertSeverity;
  /** Whether a firing rule rolls the version back: at once when critical, as a gradual traffic shift when a warning. Off unless a policy turns it on. */
  rollback: boolean;
}

/** The product brief's rules. */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = Object.freeze([
  { name: 'ModelAccuracyDrop', metric: 'accuracy', comparison: 'below', threshold: 0.9, relativeToBaseline: true, severity: 'warning', rollback: false },
  { name: 'ModelDriftDetected', metric: 'drift', comparison: 'above', threshold: 0.2, relativeToBaseline: false, severity: 'critical', rollback: false },
  { name: 'ModelLatencyHigh', metric: 'latency_p95', comparison: 'above', threshold: 1000, relativeToBaseline: false, severity: 'warning', rollback: false },
  { name: 'ModelDriftWarning', metric: 'drift', comparison: 'above', threshold: 0.1, relativeToBaseline: false, severity: 'warning', rollback: false },
  { name: 'ModelDriftCritical', metric: 'drift', comparison: 'above', threshold: 0.3, relativeToBaseline: false, severity: 'critical', rollback: false },
] satisfies AlertRule[]);

export interface AlertEvaluation {
  rule: string;
  severity: AlertSeverity;
  /** firing or ok; no_data when the current window (or the baseline a relative rule needs) has too few observations. */
  state: 'firing' | 'ok' | 'no_data';
  /** The metric's current value. */
  value: number | null;
  /** The threshold it was held to, the baseline's multiple worked out. */
  threshold: number | null;
  /** Observations behind the value (labelled ones for accuracy, the most drifted distribution's for drift). */
  samples: number;
  rollback: boolean;
}

/** The minimum observations alert rules need, the judge's own by default. */
export type AlertMinimums = Pick<JudgeCriteria, 'minSamples' | 'minDriftSamples' | 'minLabels'>;

/** Evaluates every rule, in order, on the current window against the baseline (e.g. the version's first production window) and the profile. */
export function evaluateAlertRules(
  rules: readonly AlertRule[],
  current: TelemetryAggregate,
  baseline: TelemetryAggregate | null,
  profile: ReferenceProfile | null,
  minimums: AlertMinimums = DEFAULT_JUDGE_CRITERIA,
): AlertEvaluation[] {
  return rules.map((rule) => {
    const reading = metricValue(rule.metric, current, profile, minimums);
    const base = rule.relativeToBaseline ? baselineValue(rule.metric, baseline, profile, minimums) : 1;
    const threshold = base === null ? null : rule.threshold * base;
    const outcome = { rule: rule.name, severity: rule.severity, value: reading.value, threshold, samples: reading.samples, rollback: rule.rollback };
    if (reading.value === null || threshold === null) return { ...outcome, state: 'no_data' };
    const firing = rule.comparison === 'above' ? reading.value > threshold : reading.value < threshold;
    return { ...outcome, state: firing ? 'firing' : 'ok' };
  });
}

interface MetricReading {
  value: number | null;
  samples: number;
}

function metricValue(metric: AlertMetric, aggregate: TelemetryAggregate, profile: ReferenceProfile | null, minimums: AlertMinimums): MetricReading {
  switch (metric) {
    case 'accuracy': {
      const { count, correct } = aggregate.classLabels;
      return { value: count >= Math.max(1, minimums.minLabels) ? correct / count : null, samples: count };
    }
    case 'drift': {
      if (!profile) return { value: null, samples: 0 };
      const input = inputDrift(aggregate, profile, minimums.minDriftSamples);
      const predictions = predictionDrift(aggregate, profile, minimums.minDriftSamples);
      const inputSamples = input.worst === null ? 0 : input.features[input.worst].samples;
      if (input.score === null && predictions === null) return { value: null, samples: 0 };
      if (predictions === null || (input.score !== null && input.score >= predictions.psi)) return { value: input.score, samples: inputSamples };
      return { value: predictions.psi, samples: predictions.samples };
    }
    case 'latency_p95':
      return { value: aggregate.count >= Math.max(1, minimums.minSamples) ? latencyQuantile(aggregate, 0.95) : null, samples: aggregate.count };
    case 'error_rate':
      return { value: aggregate.count >= Math.max(1, minimums.minSamples) ? aggregate.errors / aggregate.count : null, samples: aggregate.count };
  }
}

function baselineValue(metric: AlertMetric, baseline: TelemetryAggregate | null, profile: ReferenceProfile | null, minimums: AlertMinimums): number | null {
  const observed = baseline === null ? null : metricValue(metric, baseline, profile, minimums).value;
  if (observed !== null) return observed;
  return metric === 'accuracy' ? (profile?.accuracy ?? null) : null;
}
