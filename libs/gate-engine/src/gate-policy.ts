import { readFileSync } from 'node:fs';
import { type GateCheck, type ThresholdSpec, thresholdsFor, type Thresholds } from './check';
import { DEFAULT_GATE_SETTINGS, type GateSettings } from './gate-settings';
import { GATE_STAGES, TASKS, type GateStage, type Severity, type Task } from './terms';
import { FileProblemsError } from '@gatehouse/errors';

/** One check as a stage's policy runs it for one task. */
export interface PolicyCheck {
  id: string;
  severity: Severity;
  thresholds: Thresholds;
}

/** A stage's policy resolved for one task: what a gate run executes, stored with it as a snapshot. */
export interface StagePolicy {
  stage: GateStage;
  task: Task;
  settings: GateSettings;
  checks: PolicyCheck[];
}

export class GatePolicyError extends FileProblemsError {
  constructor(source: string, problems: string[]) {
    super('gate policy', source, problems);
  }
}

interface CheckEntry {
  severity?: Severity;
  thresholds?: Record<string, unknown>;
  byTask?: Partial<Record<Task, Record<string, unknown>>>;
}

/** A stage as the file writes it: what it changes in the stage it extends (or, extending none, all it runs). */
interface WrittenStage {
  parent?: GateStage;
  settings: Partial<GateSettings>;
  /** In the order written; null drops the parent's check. */
  checks: Map<string, CheckEntry | null>;
  /** Checks the stage moves right after another, in the order written. */
  placements: { id: string; after: string }[];
}

/** A stage with what it extends applied: every check it runs, in order. */
interface StageEntry {
  parent: GateStage | null;
  settings: Partial<GateSettings>;
  checks: Map<string, CheckEntry>;
}

/** config/gates.json, validated against the checks the engine knows. */
export class GatePolicy {
  private constructor(
    /** The file (or name) it was read from. */
    readonly source: string,
    private readonly settings: GateSettings,
    private readonly stages: ReadonlyMap<GateStage, StageEntry>,
    private readonly checks: ReadonlyMap<string, GateCheck>,
  ) {}

  static load(path: string, checks: readonly GateCheck[]): GatePolicy {
    return GatePolicy.parse(
      readJsonConfig(path, (problem) => new GatePolicyError(path, [problem])),
      checks,
      path,
    );
  }

  /** Validates everything and lists every problem at once, so a bad file fails start-up with the whole story. */
  static parse(json: unknown, checks: readonly GateCheck[], source = 'policy'): GatePolicy {
    const byId = new Map(checks.map((check) => [check.id, check]));
    const problems: string[] = [];
    if (!isObject(json)) throw new GatePolicyError(source, ['the policy must be a JSON object']);
    reportUnknownKeys(json, ['$comment', 'settings', 'stages'], '', problems);
    const settings = { ...DEFAULT_GATE_SETTINGS, ...validateSettings(json.settings, 'settings', problems) };
    const written = new Map<GateStage, WrittenStage>();
    const defined: GateStage[] = [];
    if (!isObject(json.stages)) problems.push('"stages" must be an object naming stages');
    else {
      for (const [stage, entry] of Object.entries(json.stages)) {
        if (!isGateStage(stage)) {
          problems.push(`stages.${stage}: unknown stage (expected one of ${GATE_STAGES.join(', ')})`);
          continue;
        }
        defined.push(stage);
        const parsed = validateStage(entry, `stages.${stage}`, byId, problems);
        if (parsed) written.set(stage, parsed);
      }
    }
    const stages = applyExtends(written, defined, problems);
    if (problems.length > 0) throw new GatePolicyError(source, problems);
    return new GatePolicy(source, settings, stages, byId);
  }

  /**
   * The checks, severities, thresholds and settings a gate for this stage and
   * task runs with. `everyCheck` (`gatehouse validate --check-all`) keeps the
   * stage's checks for other tasks, which the engine reports as not applying,
   * and adds every check the stage does not run, with its defaults, as a
   * warning: it reports, and the verdict stays the stage's.
   */
  resolve(stage: GateStage, task: Task, { everyCheck = false, tags = {} }: { everyCheck?: boolean; tags?: Readonly<Record<string, string>> } = {}): StagePolicy {
    const entry = this.stages.get(stage);
    const settings = mergeSettings(this.settings, entry?.settings ?? {});
    const checks: PolicyCheck[] = [];
    for (const [id, checkEntry] of entry?.checks ?? []) {
      const check = this.checks.get(id)!;
      if (!everyCheck && check.tasks && !check.tasks.includes(task)) continue;
      checks.push({
        id,
        severity: checkEntry.severity ?? check.severity,
        thresholds: thresholdsFor(check, task, checkEntry.thresholds, checkEntry.byTask?.[task]),
      });
    }
    if (everyCheck) addUnlisted(checks, this.checks, task);
    if (tags[BROWSER_RUNTIME_TAG.key] === BROWSER_RUNTIME_TAG.value) addForBrowser(checks, this.checks, task);
    return { stage, task, settings, checks };
  }

  /** The stages the policy defines, in promotion order. */
  get stageNames(): GateStage[] {
    return GATE_STAGES.filter((stage) => this.stages.has(stage));
  }

  /** The stage this one extends, null when it is written out in full. */
  parentOf(stage: GateStage): GateStage | null {
    return this.stages.get(stage)?.parent ?? null;
  }
}

/** A version tagged `runtime=browser` is served in web pages: every gate of it runs browser_compat, as the stage lists it or with its defaults. */
export const BROWSER_RUNTIME_TAG = { key: 'runtime', value: 'browser' } as const;

function addForBrowser(checks: PolicyCheck[], known: ReadonlyMap<string, GateCheck>, task: Task): void {
  const browserCompat = known.get('browser_compat');
  if (!browserCompat || checks.some((listed) => listed.id === browserCompat.id)) return;
  if (browserCompat.tasks && !browserCompat.tasks.includes(task)) return;
  checks.push({ id: browserCompat.id, severity: browserCompat.severity, thresholds: thresholdsFor(browserCompat, task) });
}

/**
 * Adds each check the list lacks, in the engine's order, as a warning: before
 * the first listed check that requires it (artifact_scan, which a stage may
 * leave to an earlier gate, before model_loads), else at the end.
 */
function addUnlisted(checks: PolicyCheck[], known: ReadonlyMap<string, GateCheck>, task: Task): void {
  for (const check of known.values()) {
    if (checks.some((listed) => listed.id === check.id)) continue;
    const dependent = checks.findIndex((listed) => known.get(listed.id)?.requires?.includes(check.id));
    const added = { id: check.id, severity: 'warning' as const, thresholds: thresholdsFor(check, task) };
    checks.splice(dependent === -1 ? checks.length : dependent, 0, added);
  }
}

/** A configuration file's JSON; `invalid` makes the error for a file that cannot be read or is not JSON. */
export function readJsonConfig(path: string, invalid: (problem: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(`cannot read it: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`not valid JSON: ${(error as Error).message}`);
  }
}

function validateStage(entry: unknown, where: string, checks: ReadonlyMap<string, GateCheck>, problems: string[]): WrittenStage | undefined {
  if (!isObject(entry)) {
    problems.push(`${where} must be an object with "checks"`);
    return undefined;
  }
  reportUnknownKeys(entry, ['$comment', 'extends', 'settings', 'checks'], where, problems);
  const parent = entry.extends === undefined || (typeof entry.extends === 'string' && isGateStage(entry.extends)) ? entry.extends : undefined;
  const unknownParent = entry.extends !== undefined && parent === undefined;
  if (unknownParent) problems.push(`${where}.extends: unknown stage ${JSON.stringify(entry.extends)} (expected one of ${GATE_STAGES.join(', ')})`);
  const settings = validateSettings(entry.settings, `${where}.settings`, problems);
  // A stage that extends another may change only its settings.
  const written = entry.checks === undefined && entry.extends !== undefined ? {} : entry.checks;
  if (!isObject(written)) {
    problems.push(`${where}.checks must be an object keyed by check id`);
    return undefined;
  }
  const parsed = new Map<string, CheckEntry | null>();
  const placements: WrittenStage['placements'] = [];
  for (const [id, checkEntry] of Object.entries(written)) {
    const at = `${where}.checks.${id}`;
    const check = checks.get(id);
    if (!check) {
      problems.push(`${at}: unknown check "${id}" (known: ${[...checks.keys()].sort().join(', ')})`);
      continue;
    }
    if (checkEntry === null) {
      parsed.set(id, null);
      continue;
    }
    if (!isObject(checkEntry)) {
      problems.push(`${at} must be an object (use {} for the defaults, null to drop a check the stage extends)`);
      // Still recorded, so a stage extending this one is not also told the check is missing.
      parsed.set(id, {});
      continue;
    }
    reportUnknownKeys(checkEntry, ['$comment', 'severity', 'thresholds', 'byTask', 'after'], at, problems);
    if (checkEntry.severity !== undefined && checkEntry.severity !== 'critical' && checkEntry.severity !== 'warning') {
      problems.push(`${at}.severity must be "critical" or "warning"`);
    }
    validateThresholds(checkEntry.thresholds, check, `${at}.thresholds`, problems);
    if (checkEntry.byTask !== undefined) {
      if (!isObject(checkEntry.byTask)) problems.push(`${at}.byTask must be an object keyed by task`);
      else {
        for (const [task, thresholds] of Object.entries(checkEntry.byTask)) {
          if (!(TASKS as readonly string[]).includes(task)) problems.push(`${at}.byTask.${task}: unknown task (expected one of ${TASKS.join(', ')})`);
          else validateThresholds(thresholds, check, `${at}.byTask.${task}`, problems);
        }
      }
    }
    if (checkEntry.after !== undefined) {
      if (typeof checkEntry.after === 'string') placements.push({ id, after: checkEntry.after });
      else problems.push(`${at}.after must name the check this one runs right after, not ${JSON.stringify(checkEntry.after)}`);
    }
    const { severity, thresholds, byTask } = checkEntry as CheckEntry;
    parsed.set(id, { severity, thresholds, byTask });
  }
  // Without its parent the stage's nulls and placements mean nothing: checked once the parent is named right.
  return unknownParent ? undefined : { parent, settings, checks: parsed, placements };
}

/**
 * Applies each stage's `extends`, parents first. A stage whose chain is
 * broken (a missing parent, a cycle, an invalid stage) is left out: the
 * problem is listed once, where it is, not again for every stage below it.
 * `defined` are the stages the file names, valid or not.
 */
function applyExtends(written: ReadonlyMap<GateStage, WrittenStage>, defined: readonly GateStage[], problems: string[]): Map<GateStage, StageEntry> {
  const applied = new Map<GateStage, StageEntry | undefined>();
  const apply = (stage: GateStage, chain: GateStage[]): StageEntry | undefined => {
    if (applied.has(stage)) return applied.get(stage);
    const own = written.get(stage)!;
    const path = [...chain, stage];
    let parent: StageEntry | undefined;
    if (own.parent) {
      if (!defined.includes(own.parent)) {
        problems.push(`stages.${stage}.extends: the policy has no stage "${own.parent}" (it has: ${defined.join(', ')})`);
      } else if (path.includes(own.parent)) {
        const cycle = [...path.slice(path.indexOf(own.parent)), own.parent];
        problems.push(`stages.${stage}.extends: the stages extend each other in a cycle (${cycle.join(' extends ')})`);
      } else if (written.has(own.parent)) {
        parent = apply(own.parent, path);
      }
      if (!parent) {
        applied.set(stage, undefined);
        return undefined;
      }
    }
    const entry = inherit(stage, own, parent, problems);
    applied.set(stage, entry);
    return entry;
  };
  const stages = new Map<GateStage, StageEntry>();
  for (const stage of written.keys()) {
    const entry = apply(stage, []);
    if (entry) stages.set(stage, entry);
  }
  return stages;
}

/**
 * One stage over the one it extends: the parent's checks in the parent's
 * order, each entry merged key by key over the parent's (thresholds, and
 * byTask task by task), null dropping one, new checks after them unless
 * placed with `after`.
 */
function inherit(stage: GateStage, own: WrittenStage, parent: StageEntry | undefined, problems: string[]): StageEntry {
  const checks = new Map(parent?.checks);
  for (const [id, entry] of own.checks) {
    const inherited = checks.get(id);
    if (entry === null) {
      if (inherited) checks.delete(id);
      else
        problems.push(`stages.${stage}.checks.${id}: null drops a check the stage extends, but ${own.parent ? `${own.parent} does not run ${id}` : `${stage} extends no stage`}`);
    } else {
      checks.set(id, inherited ? mergeCheck(inherited, entry) : entry);
    }
  }
  const order = [...checks.keys()];
  for (const { id, after } of own.placements) {
    const at = `stages.${stage}.checks.${id}.after`;
    if (after === id) problems.push(`${at}: a check cannot run right after itself`);
    else if (!checks.has(after)) problems.push(`${at}: ${stage} runs no check "${after}" (it runs: ${order.join(', ')})`);
    else {
      order.splice(order.indexOf(id), 1);
      order.splice(order.indexOf(after) + 1, 0, id);
    }
  }
  return {
    parent: own.parent ?? null,
    settings: mergeSettings(parent?.settings ?? {}, own.settings),
    checks: new Map(order.map((id) => [id, checks.get(id)!])),
  };
}

function mergeCheck(parent: CheckEntry, own: CheckEntry): CheckEntry {
  const byTask = { ...parent.byTask };
  for (const [task, thresholds] of Object.entries(own.byTask ?? {}) as [Task, Record<string, unknown>][]) byTask[task] = { ...byTask[task], ...thresholds };
  return { severity: own.severity ?? parent.severity, thresholds: { ...parent.thresholds, ...own.thresholds }, byTask };
}

/** Settings over settings; named dimensions merge by name. */
function mergeSettings<T extends Partial<GateSettings>>(base: T, over: Partial<GateSettings>): T {
  return { ...base, ...over, dimensions: { ...base.dimensions, ...over.dimensions } };
}

function validateThresholds(value: unknown, check: GateCheck, where: string, problems: string[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push(`${where} must be an object`);
    return;
  }
  for (const [key, given] of Object.entries(value)) {
    const spec = check.thresholds[key];
    if (!spec) {
      const known = Object.keys(check.thresholds);
      problems.push(`${where}.${key}: "${check.id}" has no threshold "${key}" (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`);
      continue;
    }
    const problem = thresholdProblem(spec, given);
    if (problem) problems.push(`${where}.${key}: ${problem}`);
  }
}

/** What is wrong with a value for a threshold, or undefined when it will do. */
export function thresholdProblem(spec: ThresholdSpec, value: unknown): string | undefined {
  if (spec.type === 'boolean') return typeof value === 'boolean' ? undefined : `must be true or false, not ${JSON.stringify(value)}`;
  if (spec.type === 'names') {
    return Array.isArray(value) && value.every((name) => typeof name === 'string' && name.trim() !== '')
      ? undefined
      : `must be a list of non-empty strings, not ${JSON.stringify(value)}`;
  }
  if (spec.type === 'integers') {
    if (!Array.isArray(value) || value.length === 0) return `must be a non-empty list of whole numbers, not ${JSON.stringify(value)}`;
    const problem = value.map((item) => thresholdProblem({ ...spec, type: 'integer' }, item)).find(Boolean);
    return problem && `each of ${JSON.stringify(value)} ${problem}`;
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
  defaultDimension: { type: 'integer', min: 1, max: 65_536, description: 'first size tried for unnamed symbolic dimensions (larger ones follow until the model runs)' },
  seed: { type: 'integer', min: 0, max: 2 ** 32 - 1, description: 'seed of synthesised inputs' },
  intraOpThreads: { type: 'integer', min: 0, max: 256, description: 'onnxruntime intra-op threads' },
  timeoutSeconds: { type: 'integer', min: 1, max: 86_400, description: 'wall-clock limit of one gate run' },
  // Node, onnxruntime, the engine and libuv's threads take about 150 MiB before any model: at 128 MiB the sandbox aborts.
  memoryLimitMiB: { type: 'integer', min: 256, max: 1_048_576, description: 'memory the sandbox may allocate, in MiB' },
  cpuSeconds: { type: 'integer', min: 1, max: 864_000, description: 'CPU time of the sandbox, all threads together' },
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
  return settings;
}

function reportUnknownKeys(value: Record<string, unknown>, known: string[], where: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push(`${where ? `${where}.` : ''}${key}: unknown key (expected ${known.filter((k) => k !== '$comment').join(', ')})`);
  }
}

function isGateStage(value: string): value is GateStage {
  return (GATE_STAGES as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
