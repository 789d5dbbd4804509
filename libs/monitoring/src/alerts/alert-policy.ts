import { readFileSync } from 'node:fs';
import { DEFAULT_ALERT_RULES, type AlertMetric, type AlertRule } from '@gatehouse/canary-judge';
import { MonitoringPolicyError } from '../monitoring-policy';

/** How a model in production is watched: the rules, how often they are evaluated, and how long a gradual rollback takes. */
export interface ModelAlertPolicy {
  /** Each evaluation reads the last window this long. */
  intervalSeconds: number;
  /** A warning that rolls back hands traffic back to the previous version over this long. */
  gradualRollbackSeconds: number;
  rules: AlertRule[];
}

/** The loaded alert policy's injection token. */
export const ALERT_POLICY = Symbol('ALERT_POLICY');

const DEFAULTS: ModelAlertPolicy = { intervalSeconds: 300, gradualRollbackSeconds: 600, rules: [...DEFAULT_ALERT_RULES] };
const METRICS: AlertMetric[] = ['accuracy', 'drift', 'latency_p95', 'error_rate'];
const RULE_KEYS = ['metric', 'comparison', 'threshold', 'relativeToBaseline', 'severity', 'rollback', '$comment'];
const SECTION_KEYS = ['intervalSeconds', 'gradualRollbackSeconds', 'rules', '$comment'];

/**
 * The `alerts` sections of config/monitoring.json: the brief's rules by
 * default (DEFAULT_ALERT_RULES), each changed or added by name, at the top
 * level and per model (`models.<name>.alerts`), key by key. A rule set to
 * `false` is dropped. MonitoringPolicy reads the rest of the same file.
 */
export class AlertPolicy {
  private constructor(
    private readonly defaults: ModelAlertPolicy,
    private readonly models: Record<string, ModelAlertPolicy>,
  ) {}

  static load(path: string): AlertPolicy {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new MonitoringPolicyError(path, [`cannot read it as JSON: ${(error as Error).message}`]);
    }
    return AlertPolicy.parse(json, path);
  }

  static parse(json: unknown, source = 'monitoring policy'): AlertPolicy {
    const problems: string[] = [];
    const root = isObject(json) ? json : {};
    const defaults = parseSection(root.alerts, DEFAULTS, 'alerts', problems);
    const models: Record<string, ModelAlertPolicy> = {};
    for (const [name, entry] of Object.entries(isObject(root.models) ? root.models : {})) {
      if (isObject(entry) && entry.alerts !== undefined) models[name] = parseSection(entry.alerts, defaults, `models.${name}.alerts`, problems);
    }
    if (problems.length > 0) throw new MonitoringPolicyError(source, problems);
    return new AlertPolicy(defaults, models);
  }

  for(model: string): ModelAlertPolicy {
    return this.models[model] ?? this.defaults;
  }
}

function parseSection(raw: unknown, base: ModelAlertPolicy, at: string, problems: string[]): ModelAlertPolicy {
  if (raw === undefined) return base;
  if (!isObject(raw)) {
    problems.push(`${at} must be an object with "rules", "intervalSeconds" or "gradualRollbackSeconds"`);
    return base;
  }
  for (const key of Object.keys(raw)) if (!SECTION_KEYS.includes(key)) problems.push(`${at}: unknown key "${key}" (expected ${SECTION_KEYS.slice(0, -1).join(', ')})`);
  const policy: ModelAlertPolicy = { ...base, rules: base.rules.map((rule) => ({ ...rule })) };
  const whole = (key: 'intervalSeconds' | 'gradualRollbackSeconds', max: number) => {
    const value = raw[key];
    if (value === undefined) return;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) policy[key] = value;
    else problems.push(`${at}.${key} must be a whole number from 1 to ${max}`);
  };
  whole('intervalSeconds', 86_400);
  whole('gradualRollbackSeconds', 86_400);
  if (raw.rules === undefined) return policy;
  if (!isObject(raw.rules)) {
    problems.push(`${at}.rules must be an object of rule name to rule (or false to drop one)`);
    return policy;
  }
  for (const [name, change] of Object.entries(raw.rules)) {
    const index = policy.rules.findIndex((rule) => rule.name === name);
    if (change === false) {
      if (index < 0) problems.push(`${at}.rules.${name}: there is no such rule to drop`);
      else policy.rules.splice(index, 1);
      continue;
    }
    const rule = parseRule(change, index < 0 ? undefined : policy.rules[index], name, `${at}.rules.${name}`, problems);
    if (!rule) continue;
    if (index < 0) policy.rules.push(rule);
    else policy.rules[index] = rule;
  }
  return policy;
}

/** A rule's keys over the rule of that name; a new rule names them all but relativeToBaseline and rollback. */
function parseRule(raw: unknown, base: AlertRule | undefined, name: string, at: string, problems: string[]): AlertRule | undefined {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object (or false to drop the rule)`);
    return undefined;
  }
  for (const key of Object.keys(raw)) if (!RULE_KEYS.includes(key)) problems.push(`${at}: unknown key "${key}" (expected ${RULE_KEYS.slice(0, -1).join(', ')})`);
  const before = problems.length;
  const pick = <T>(key: string, valid: (value: unknown) => boolean, expected: string, fallback: T | undefined): T | undefined => {
    const value = raw[key] ?? fallback;
    if (value === undefined) problems.push(`${at}.${key} is required for a new rule: ${expected}`);
    else if (!valid(value)) problems.push(`${at}.${key} must be ${expected}`);
    else return value as T;
    return undefined;
  };
  const rule = {
    name,
    metric: pick<AlertMetric>('metric', (value) => (METRICS as unknown[]).includes(value), `one of ${METRICS.join(', ')}`, base?.metric),
    comparison: pick<'above' | 'below'>('comparison', (value) => value === 'above' || value === 'below', 'above or below', base?.comparison),
    threshold: pick<number>('threshold', (value) => typeof value === 'number' && Number.isFinite(value), 'a number', base?.threshold),
    relativeToBaseline: pick<boolean>('relativeToBaseline', (value) => typeof value === 'boolean', 'true or false', base?.relativeToBaseline ?? false),
    severity: pick<'warning' | 'critical'>('severity', (value) => value === 'warning' || value === 'critical', 'warning or critical', base?.severity),
    rollback: pick<boolean>('rollback', (value) => typeof value === 'boolean', 'true or false', base?.rollback ?? false),
  };
  return problems.length === before ? (rule as AlertRule) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
