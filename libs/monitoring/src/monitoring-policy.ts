import { readFileSync } from 'node:fs';
import { DEFAULT_ANALYSIS_POLICY, DEFAULT_JUDGE_CRITERIA, type AnalysisPolicy, type JudgeCriteria } from '@gatehouse/canary-judge';
import { FileProblemsError } from '@gatehouse/errors';

/** A model's canary analysis: the schedule and the judge's criteria, or off. */
export interface ModelAnalysisPolicy extends AnalysisPolicy {
  enabled: boolean;
}

/** The loaded policy's injection token. */
export const MONITORING_POLICY = Symbol('MONITORING_POLICY');

/** Where a model's serving metrics come from; more kinds (Prometheus) join this union. */
export type MetricProviderPolicy = { kind: 'telemetry' };

const PROVIDER_KINDS = ['telemetry'] as const;

export class MonitoringPolicyError extends FileProblemsError {
  constructor(source: string, problems: string[]) {
    super('monitoring policy', source, problems);
  }
}

const ANALYSIS_KEYS = ['enabled', 'steps', 'bakeSeconds', 'intervalSeconds', 'failureLimit', 'inconclusiveLimit', 'criteria', '$comment'];
const COUNTS: (keyof AnalysisPolicy)[] = ['failureLimit', 'inconclusiveLimit'];
const DURATIONS: (keyof AnalysisPolicy)[] = ['bakeSeconds', 'intervalSeconds'];
/** Criteria that are ratios or probabilities, and the whole-number minimums. */
const FRACTION_CRITERIA: (keyof JudgeCriteria)[] = ['alpha', 'minErrorRateIncrease', 'minAccuracyRatio'];
const POSITIVE_CRITERIA: (keyof JudgeCriteria)[] = ['maxLatencyRatio', 'maxErrorRateRatio', 'maxDrift'];
const COUNT_CRITERIA: (keyof JudgeCriteria)[] = ['minSamples', 'minDriftSamples', 'minLabels'];

/**
 * config/monitoring.json (or MONITORING_POLICY): how canaries are analysed,
 * by default and per model. A model's entry overrides the defaults key by
 * key, criteria too, so it says only what differs.
 */
export class MonitoringPolicy {
  private constructor(
    private readonly defaults: ModelMonitoring,
    private readonly models: Record<string, ModelMonitoring>,
  ) {}

  static load(path: string): MonitoringPolicy {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new MonitoringPolicyError(path, [`cannot read it as JSON: ${(error as Error).message}`]);
    }
    return MonitoringPolicy.parse(json, path);
  }

  /** Every problem at once, so one edit fixes the file. */
  static parse(json: unknown, source = 'monitoring policy'): MonitoringPolicy {
    const problems: string[] = [];
    if (!isObject(json)) throw new MonitoringPolicyError(source, ['the policy must be a JSON object with "analysis" and optionally "models"']);
    // "alerts" is AlertPolicy's: it reads and checks that section of the same file.
    for (const key of Object.keys(json)) if (!['analysis', 'provider', 'alerts', 'models', '$comment'].includes(key)) problems.push(`unknown key "${key}"`);
    const base: ModelAnalysisPolicy = { enabled: true, ...DEFAULT_ANALYSIS_POLICY, criteria: { ...DEFAULT_JUDGE_CRITERIA } };
    const defaults: ModelMonitoring = {
      analysis: parseAnalysis(json.analysis ?? {}, base, 'analysis', problems),
      provider: parseProvider(json.provider ?? { kind: 'telemetry' }, 'provider', problems),
    };
    const models: Record<string, ModelMonitoring> = {};
    if (json.models !== undefined && !isObject(json.models)) problems.push('"models" must be an object keyed by model name');
    for (const [name, entry] of Object.entries(isObject(json.models) ? json.models : {})) {
      if (!isObject(entry)) {
        problems.push(`models.${name} must be an object with "analysis" or "provider"`);
        continue;
      }
      for (const key of Object.keys(entry)) if (!['analysis', 'provider', 'alerts', '$comment'].includes(key)) problems.push(`models.${name}: unknown key "${key}"`);
      models[name] = {
        analysis: parseAnalysis(entry.analysis ?? {}, defaults.analysis, `models.${name}.analysis`, problems),
        provider: entry.provider === undefined ? defaults.provider : parseProvider(entry.provider, `models.${name}.provider`, problems),
      };
    }
    if (problems.length > 0) throw new MonitoringPolicyError(source, problems);
    return new MonitoringPolicy(defaults, models);
  }

  /** The analysis a canary of this model gets. */
  analysisFor(model: string): ModelAnalysisPolicy {
    return (this.models[model] ?? this.defaults).analysis;
  }

  /** Where this model's canary and production metrics are read from. */
  providerFor(model: string): MetricProviderPolicy {
    return (this.models[model] ?? this.defaults).provider;
  }
}

interface ModelMonitoring {
  analysis: ModelAnalysisPolicy;
  provider: MetricProviderPolicy;
}

function parseProvider(raw: unknown, at: string, problems: string[]): MetricProviderPolicy {
  if (!isObject(raw) || !(PROVIDER_KINDS as readonly unknown[]).includes(raw.kind)) {
    problems.push(`${at} must be an object whose "kind" is one of ${PROVIDER_KINDS.join(', ')}`);
    return { kind: 'telemetry' };
  }
  for (const key of Object.keys(raw)) if (!['kind', '$comment'].includes(key)) problems.push(`${at}: unknown key "${key}"`);
  return { kind: 'telemetry' };
}

function parseAnalysis(raw: unknown, base: ModelAnalysisPolicy, at: string, problems: string[]): ModelAnalysisPolicy {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object`);
    return base;
  }
  for (const key of Object.keys(raw)) if (!ANALYSIS_KEYS.includes(key)) problems.push(`${at}: unknown key "${key}" (expected ${ANALYSIS_KEYS.slice(0, -1).join(', ')})`);
  const policy: ModelAnalysisPolicy = { ...base, criteria: { ...base.criteria } };
  if (raw.enabled !== undefined) {
    if (typeof raw.enabled === 'boolean') policy.enabled = raw.enabled;
    else problems.push(`${at}.enabled must be true or false`);
  }
  if (raw.steps !== undefined) {
    const steps = raw.steps;
    const valid =
      Array.isArray(steps) && steps.length > 0 && steps.every((step, index) => Number.isInteger(step) && step >= 1 && step <= 100 && (index === 0 || step > steps[index - 1]));
    if (valid) policy.steps = steps as number[];
    else problems.push(`${at}.steps must be increasing whole percents from 1 to 100, such as [5, 25, 50]`);
  }
  for (const key of DURATIONS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 86_400) (policy[key] as number) = value;
    else problems.push(`${at}.${key} must be a whole number of seconds from 1 to 86400`);
  }
  for (const key of COUNTS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1000) (policy[key] as number) = value;
    else problems.push(`${at}.${key} must be a whole number from 1 to 1000`);
  }
  if (policy.bakeSeconds < policy.intervalSeconds) problems.push(`${at}: bakeSeconds (${policy.bakeSeconds}) is shorter than one interval (${policy.intervalSeconds} s)`);
  if (raw.criteria !== undefined) parseCriteria(raw.criteria, policy.criteria, `${at}.criteria`, problems);
  return policy;
}

function parseCriteria(raw: unknown, criteria: JudgeCriteria, at: string, problems: string[]): void {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object`);
    return;
  }
  const known = [...FRACTION_CRITERIA, ...POSITIVE_CRITERIA, ...COUNT_CRITERIA] as string[];
  for (const key of Object.keys(raw)) if (!known.includes(key) && key !== '$comment') problems.push(`${at}: unknown key "${key}" (expected ${known.join(', ')})`);
  const take = (key: keyof JudgeCriteria, valid: (value: number) => boolean, expected: string) => {
    const value = raw[key];
    if (value === undefined) return;
    if (typeof value === 'number' && valid(value)) criteria[key] = value;
    else problems.push(`${at}.${key} must be ${expected}`);
  };
  for (const key of FRACTION_CRITERIA) take(key, (value) => value > 0 && value < 1, 'a number between 0 and 1');
  for (const key of POSITIVE_CRITERIA) take(key, (value) => value > 0, 'a number above 0');
  for (const key of COUNT_CRITERIA) take(key, (value) => Number.isInteger(value) && value >= 1, 'a whole number from 1');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
