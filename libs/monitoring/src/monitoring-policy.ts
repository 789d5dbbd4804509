import { readFileSync } from 'node:fs';
import { DEFAULT_ANALYSIS_POLICY, DEFAULT_JUDGE_CRITERIA, type AnalysisPolicy, type JudgeCriteria } from '@gatehouse/canary-judge';
import { FileProblemsError } from '@gatehouse/errors';

/** A model's canary analysis: the schedule and the judge's criteria, or off. */
export interface ModelAnalysisPolicy extends AnalysisPolicy {
  enabled: boolean;
}

/** The loaded policy's injection token. */
export const MONITORING_POLICY = Symbol('MONITORING_POLICY');

/** Where a model's serving metrics come from: telemetry pushed to the registry, or a Prometheus server that scrapes the serving fleet. */
export type MetricProviderPolicy = { kind: 'telemetry' } | PrometheusProviderPolicy;

const PROVIDER_KINDS = ['telemetry', 'prometheus'] as const;

/**
 * Instant queries at each window's end, PromQL templates whose placeholders
 * are filled for the version judged: each answers one number, or for
 * latencyBuckets one per `le` bound, over the window.
 */
export interface PrometheusQueries {
  /** Requests the version served in the window. */
  requests: string;
  /** Of those, the failed ones. */
  errors: string;
  /** The latency histogram's cumulative buckets over the window, one series per `le` (in seconds, with +Inf). */
  latencyBuckets: string;
}

export interface PrometheusProviderPolicy {
  kind: 'prometheus';
  /** Base URL of the Prometheus HTTP API, e.g. http://prometheus:9090. */
  address: string;
  queries: PrometheusQueries;
  /** How long one query may take before the interval is inconclusive. */
  timeoutMs: number;
}

/** {{model}} and {{version}} as the catalog names them; {{window}}: the interval as a PromQL duration, such as 60s. */
export const PROMETHEUS_PLACEHOLDERS = ['model', 'version', 'window'] as const;

/**
 * Queries for a conventional serving exposition: a counter of requests and
 * one of failed requests, and a histogram of request durations in seconds,
 * each labelled with model and version.
 */
export const DEFAULT_PROMETHEUS_QUERIES: Readonly<PrometheusQueries> = Object.freeze({
  requests: 'sum(increase(model_requests_total{model="{{model}}",version="{{version}}"}[{{window}}]))',
  errors: 'sum(increase(model_request_errors_total{model="{{model}}",version="{{version}}"}[{{window}}]))',
  latencyBuckets: 'sum by (le) (increase(model_request_duration_seconds_bucket{model="{{model}}",version="{{version}}"}[{{window}}]))',
});

/** A template with its placeholders filled; the policy has checked that it names no others. */
export function expandPrometheusQuery(template: string, values: Record<(typeof PROMETHEUS_PLACEHOLDERS)[number], string>): string {
  return template.replace(PLACEHOLDER, (_, name: keyof typeof values) => values[name]);
}

const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5000;
const PROMETHEUS_KEYS = ['kind', 'address', 'queries', 'timeoutMs', '$comment'];
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

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
  if (raw.kind === 'prometheus') return parsePrometheusProvider(raw, at, problems);
  for (const key of Object.keys(raw)) if (!['kind', '$comment'].includes(key)) problems.push(`${at}: unknown key "${key}"`);
  return { kind: 'telemetry' };
}

function parsePrometheusProvider(raw: Record<string, unknown>, at: string, problems: string[]): PrometheusProviderPolicy {
  for (const key of Object.keys(raw)) if (!PROMETHEUS_KEYS.includes(key)) problems.push(`${at}: unknown key "${key}" (expected ${PROMETHEUS_KEYS.slice(0, -1).join(', ')})`);
  const provider: PrometheusProviderPolicy = { kind: 'prometheus', address: '', queries: { ...DEFAULT_PROMETHEUS_QUERIES }, timeoutMs: DEFAULT_PROMETHEUS_TIMEOUT_MS };
  if (typeof raw.address === 'string' && isHttpUrl(raw.address)) provider.address = raw.address.replace(/\/+$/, '');
  else problems.push(`${at}.address must be the http(s) URL of the Prometheus server, such as "http://prometheus:9090"`);
  if (raw.timeoutMs !== undefined) {
    const value = raw.timeoutMs;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 60_000) provider.timeoutMs = value;
    else problems.push(`${at}.timeoutMs must be a whole number of milliseconds from 1 to 60000`);
  }
  if (raw.queries === undefined) return provider;
  if (!isObject(raw.queries)) {
    problems.push(`${at}.queries must be an object of PromQL templates (${Object.keys(DEFAULT_PROMETHEUS_QUERIES).join(', ')})`);
    return provider;
  }
  const known = Object.keys(DEFAULT_PROMETHEUS_QUERIES);
  for (const key of Object.keys(raw.queries)) if (!known.includes(key) && key !== '$comment') problems.push(`${at}.queries: unknown key "${key}" (expected ${known.join(', ')})`);
  for (const key of known as (keyof PrometheusQueries)[]) {
    const template = raw.queries[key];
    if (template === undefined) continue;
    if (typeof template !== 'string' || template.trim() === '') {
      problems.push(`${at}.queries.${key} must be a non-empty PromQL template`);
      continue;
    }
    const placeholders = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
    for (const name of placeholders) {
      if (!(PROMETHEUS_PLACEHOLDERS as readonly string[]).includes(name))
        problems.push(`${at}.queries.${key}: unknown placeholder {{${name}}} (expected ${PROMETHEUS_PLACEHOLDERS.map((known) => `{{${known}}}`).join(', ')})`);
    }
    // Without it canary and production would read the same series, and every interval would compare a version with itself.
    if (!placeholders.includes('version')) problems.push(`${at}.queries.${key} must select the version judged with {{version}}`);
    provider.queries[key] = template;
  }
  return provider;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
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
