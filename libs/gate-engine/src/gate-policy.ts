import { readFileSync } from 'node:fs';
import { GATE_STAGES, GATE_TASKS, type GateCheck, type GateStage, type GateTask, type Severity, type ThresholdSpec, thresholdsFor, type Thresholds } from './check';

/** How the engine feeds and runs models; the same for every check of a run. */
export interface GateSettings {
  /** Examples per batch when evaluating on a dataset. */
  batchSize: number;
  /** Batch size of the smoke run on synthesised inputs. */
  smokeBatchSize: number;
  /** Size for symbolic dimensions that are neither the batch nor named in `dimensions`. */
  defaultDimension: number;
  /** Sizes for named symbolic dimensions, e.g. {"seq": 32}. */
  dimensions: Record<string, number>;
  /** Seed for synthesised inputs. */
  seed: number;
  /** onnxruntime intra-op threads; 0 leaves onnxruntime's default. */
  intraOpThreads: number;
  /** A run taking longer ends in error. */
  timeoutSeconds: number;
  /** Training examples evaluated (the first ones; 0 = all): training sets can dwarf the held-out data. */
  trainingExamples: number;
}

export const DEFAULT_GATE_SETTINGS: GateSettings = {
  batchSize: 64,
  smokeBatchSize: 2,
  defaultDimension: 1,
  dimensions: {},
  seed: 20_26,
  intraOpThreads: 0,
  timeoutSeconds: 600,
  trainingExamples: 10_000,
};

/** One check as a stage's policy runs it for one task. */
export interface PolicyCheck {
  id: string;
  severity: Severity;
  thresholds: Thresholds;
}

/** A stage's policy resolved for one task: what a gate run executes, stored with it as a snapshot. */
export interface StagePolicy {
  stage: GateStage;
  task: GateTask;
  settings: GateSettings;
  checks: PolicyCheck[];
}

export class GatePolicyError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`gate policy ${source} is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'GatePolicyError';
  }
}

interface CheckEntry {
  severity?: Severity;
  thresholds?: Record<string, unknown>;
  byTask?: Partial<Record<GateTask, Record<string, unknown>>>;
}

interface StageEntry {
  settings?: Partial<GateSettings>;
  checks: Record<string, CheckEntry>;
}

/** config/gates.json, validated against the checks the engine knows. */
export class GatePolicy {
  private constructor(
    private readonly settings: GateSettings,
    private readonly stages: Partial<Record<GateStage, StageEntry>>,
    private readonly checks: ReadonlyMap<string, GateCheck>,
  ) {}

  static load(path: string, checks: readonly GateCheck[]): GatePolicy {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new GatePolicyError(path, [`cannot read it: ${(error as Error).message}`]);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new GatePolicyError(path, [`not valid JSON: ${(error as Error).message}`]);
    }
    return GatePolicy.parse(json, checks, path);
  }

  /** Validates everything and lists every problem at once, so a bad file fails start-up with the whole story. */
  static parse(json: unknown, checks: readonly GateCheck[], source = 'policy'): GatePolicy {
    const byId = new Map(checks.map((check) => [check.id, check]));
    const problems: string[] = [];
    if (!isObject(json)) throw new GatePolicyError(source, ['the policy must be a JSON object']);
    reportUnknownKeys(json, ['$comment', 'settings', 'stages'], '', problems);
    const settings = { ...DEFAULT_GATE_SETTINGS, ...validateSettings(json.settings, 'settings', problems) };
    const stages: Partial<Record<GateStage, StageEntry>> = {};
    if (!isObject(json.stages)) problems.push('"stages" must be an object naming stages');
    else {
      for (const [stage, entry] of Object.entries(json.stages)) {
        if (!(GATE_STAGES as readonly string[]).includes(stage)) {
          problems.push(`stages.${stage}: unknown stage (expected one of ${GATE_STAGES.join(', ')})`);
          continue;
        }
        const parsed = validateStage(entry, `stages.${stage}`, byId, problems);
        if (parsed) stages[stage as GateStage] = parsed;
      }
    }
    if (problems.length > 0) throw new GatePolicyError(source, problems);
    return new GatePolicy(settings, stages, byId);
  }

  /** The checks, severities, thresholds and settings a gate for this stage and task runs with. */
  resolve(stage: GateStage, task: GateTask): StagePolicy {
    const entry = this.stages[stage];
    const settings = { ...this.settings, ...entry?.settings, dimensions: { ...this.settings.dimensions, ...entry?.settings?.dimensions } };
    const checks: PolicyCheck[] = [];
    for (const [id, checkEntry] of Object.entries(entry?.checks ?? {})) {
      const check = this.checks.get(id)!;
      if (check.tasks && !check.tasks.includes(task)) continue;
      checks.push({
        id,
        severity: checkEntry.severity ?? check.severity,
        thresholds: thresholdsFor(check, task, checkEntry.thresholds, checkEntry.byTask?.[task]),
      });
    }
    return { stage, task, settings, checks };
  }

  get stageNames(): GateStage[] {
    return Object.keys(this.stages) as GateStage[];
  }
}

function validateStage(entry: unknown, where: string, checks: ReadonlyMap<string, GateCheck>, problems: string[]): StageEntry | undefined {
  if (!isObject(entry)) {
    problems.push(`${where} must be an object with "checks"`);
    return undefined;
  }
  reportUnknownKeys(entry, ['$comment', 'settings', 'checks'], where, problems);
  const settings = validateSettings(entry.settings, `${where}.settings`, problems);
  if (!isObject(entry.checks)) {
    problems.push(`${where}.checks must be an object keyed by check id`);
    return undefined;
  }
  const parsed: Record<string, CheckEntry> = {};
  for (const [id, checkEntry] of Object.entries(entry.checks)) {
    const at = `${where}.checks.${id}`;
    const check = checks.get(id);
    if (!check) {
      problems.push(`${at}: unknown check "${id}" (known: ${[...checks.keys()].sort().join(', ')})`);
      continue;
    }
    if (!isObject(checkEntry)) {
      problems.push(`${at} must be an object (use {} for the defaults)`);
      continue;
    }
    reportUnknownKeys(checkEntry, ['$comment', 'severity', 'thresholds', 'byTask'], at, problems);
    if (checkEntry.severity !== undefined && checkEntry.severity !== 'critical' && checkEntry.severity !== 'warning') {
      problems.push(`${at}.severity must be "critical" or "warning"`);
    }
    validateThresholds(checkEntry.thresholds, check, `${at}.thresholds`, problems);
    if (checkEntry.byTask !== undefined) {
      if (!isObject(checkEntry.byTask)) problems.push(`${at}.byTask must be an object keyed by task`);
      else {
        for (const [task, thresholds] of Object.entries(checkEntry.byTask)) {
          if (!(GATE_TASKS as readonly string[]).includes(task)) problems.push(`${at}.byTask.${task}: unknown task (expected one of ${GATE_TASKS.join(', ')})`);
          else validateThresholds(thresholds, check, `${at}.byTask.${task}`, problems);
        }
      }
    }
    parsed[id] = checkEntry as CheckEntry;
  }
  return { settings, checks: parsed };
}

function validateThresholds(value: unknown, check: GateCheck, where: string, problems: string[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push(`${where} must be an object`);
    return;
  }
  for (const [key, given] of Object.entries(value)) {
    const spec = (check.thresholds as Record<string, ThresholdSpec>)[key];
    if (!spec) {
      const known = Object.keys(check.thresholds);
      problems.push(`${where}.${key}: "${check.id}" has no threshold "${key}" (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`);
      continue;
    }
    const problem = thresholdProblem(spec, given);
    if (problem) problems.push(`${where}.${key}: ${problem}`);
  }
}

function thresholdProblem(spec: ThresholdSpec, value: unknown): string | undefined {
  if (spec.type === 'boolean') return typeof value === 'boolean' ? undefined : `must be true or false, not ${JSON.stringify(value)}`;
  if (spec.type === 'names') {
    return Array.isArray(value) && value.every((name) => typeof name === 'string' && name.trim() !== '') ? undefined : `must be a list of non-empty strings, not ${JSON.stringify(value)}`;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, not ${JSON.stringify(value)}`;
  if (spec.type === 'integer' && !Number.isInteger(value)) return `must be a whole number, not ${value}`;
  if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}, not ${value}`;
  if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}, not ${value}`;
  return undefined;
}

const SETTING_SPECS: Record<Exclude<keyof GateSettings, 'dimensions'>, ThresholdSpec> = {
  batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per evaluation batch' },
  smokeBatchSize: { type: 'integer', min: 1, max: 1024, description: 'batch size of the smoke run' },
  defaultDimension: { type: 'integer', min: 1, max: 65_536, description: 'size of unnamed symbolic dimensions' },
  seed: { type: 'integer', min: 0, max: 2 ** 32 - 1, description: 'seed of synthesised inputs' },
  intraOpThreads: { type: 'integer', min: 0, max: 256, description: 'onnxruntime intra-op threads' },
  timeoutSeconds: { type: 'integer', min: 1, max: 86_400, description: 'limit of one gate run' },
  trainingExamples: { type: 'integer', min: 0, description: 'training examples evaluated (0 = all)' },
};

function validateSettings(value: unknown, where: string, problems: string[]): Partial<GateSettings> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    problems.push(`${where} must be an object`);
    return {};
  }
  for (const [key, given] of Object.entries(value)) {
    if (key === '$comment') continue;
    if (key === 'dimensions') {
      if (!isObject(given)) problems.push(`${where}.dimensions must map dimension names to sizes`);
      else {
        for (const [name, size] of Object.entries(given)) {
          const problem = thresholdProblem({ type: 'integer', min: 1, max: 1_048_576, description: '' }, size);
          if (problem) problems.push(`${where}.dimensions.${name}: ${problem}`);
        }
      }
      continue;
    }
    const spec = SETTING_SPECS[key as keyof typeof SETTING_SPECS];
    if (!spec) {
      problems.push(`${where}.${key}: unknown setting (known: dimensions, ${Object.keys(SETTING_SPECS).join(', ')})`);
      continue;
    }
    const problem = thresholdProblem(spec, given);
    if (problem) problems.push(`${where}.${key}: ${problem}`);
  }
  const { $comment: _comment, ...settings } = value;
  return settings as Partial<GateSettings>;
}

function reportUnknownKeys(value: Record<string, unknown>, known: string[], where: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push(`${where ? `${where}.` : ''}${key}: unknown key (expected ${known.filter((k) => k !== '$comment').join(', ')})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
