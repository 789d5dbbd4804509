import type { ScanAllowanceRules } from '@gatehouse/catalog';
import type { StagePolicy } from '@gatehouse/gate-engine';
import { judgeGlobal } from '@gatehouse/artifact-scan';
import { SCAN_CHECK_ID } from './scan-verdict';

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
/** `module.name` (the name may be dotted, `Class.Inner`) or `module.*`, each part a Python identifier: what the pickle policy matches. */
const GLOBAL_PATTERN = new RegExp(`^${IDENTIFIER}(\\.${IDENTIFIER})*\\.(${IDENTIFIER}|\\*)$`);
const ONNX_DOMAIN_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_NAME_LENGTH = 200;

/** Rules that refuse a global before any allowance is consulted: allowing it would change nothing, so asking to is an error. */
const UNALLOWABLE_RULES = new Set(['dangerous_global', 'raw_data_in_pickle', 'unknown_global']);

export interface FieldProblem {
  field: string;
  errors: string[];
}

/** A model's requested allowances, checked and put in canonical order, or every problem with them. */
export type CheckedAllowances = { rules: ScanAllowanceRules; problems?: undefined } | { rules?: undefined; problems: FieldProblem[] };

/**
 * Checks what a model asks its scan to allow: each global written as the
 * pickle policy matches it, and none the policy refuses whatever is allowed
 * (judged by the policy itself, under both the protocol-2 name mapping and
 * the names as written, at every split of a dotted name into module and
 * attribute path, since a pickle may split it either way, and through
 * private aliases of dangerous modules). Sorted and
 * deduplicated, so equal rules make equal policies and digests.
 */
export function checkScanAllowances(request: { allowedGlobals: readonly string[]; allowedOnnxDomains?: readonly string[] }): CheckedAllowances {
  const problems: FieldProblem[] = [];
  request.allowedGlobals.forEach((pattern, index) => {
    const problem = globalProblem(pattern);
    if (problem) problems.push({ field: `allowedGlobals.${index}`, errors: [problem] });
  });
  (request.allowedOnnxDomains ?? []).forEach((domain, index) => {
    if (domain.length > MAX_NAME_LENGTH || !ONNX_DOMAIN_PATTERN.test(domain)) {
      problems.push({
        field: `allowedOnnxDomains.${index}`,
        errors: [`${JSON.stringify(domain)} is not an operator domain: write it as dotted words of letters, digits, "_" or "-", e.g. com.microsoft`],
      });
    }
  });
  if (problems.length > 0) return { problems };
  return { rules: { allowedGlobals: canonical(request.allowedGlobals), allowedOnnxDomains: canonical(request.allowedOnnxDomains ?? []) } };
}

function globalProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_NAME_LENGTH || !GLOBAL_PATTERN.test(pattern)) {
    return `${JSON.stringify(pattern)} is not a global: write it as module.name (e.g. mylab.config.TrainConfig) or module.* for every plain name of one module, each part a Python identifier`;
  }
  const refusal = (why: string) =>
    `${pattern} cannot be allowed: ${why}. The scan refuses it whatever a model allows; re-export the weights as safetensors, ONNX or a state_dict instead`;
  for (const global of readings(pattern)) {
    const why = unallowable(global, pattern);
    if (why) return refusal(why);
  }
  // Once named, an attribute walk is allowed, and modules import others under private names (random._os is os), which the deny-list cannot see.
  for (const segment of pattern.split('.').filter((part) => /^_+[a-z]/.test(part))) {
    const why = unallowable({ module: segment.replace(/^_+/, ''), name: '*' }, pattern);
    if (why) return refusal(`it goes through ${segment}, the name a module gives ${segment.replace(/^_+/, '')} when it imports it privately: ${why}`);
  }
  return undefined;
}

/** Why the scan refuses this import whatever is allowed, under the names as written and as CPython maps them below protocol 3. */
function unallowable(global: { module: string; name: string }, pattern: string): string | undefined {
  for (const protocol of [2, 5]) {
    const verdict = judgeGlobal({ ...global, unknown: false, protocol }, [pattern]);
    if (verdict.verdict === 'flagged' && UNALLOWABLE_RULES.has(verdict.rule)) return verdict.why;
  }
  return undefined;
}

/** Every module and name a pickle could import that the pattern matches; `*` stands for any plain name. */
function readings(pattern: string): { module: string; name: string }[] {
  if (pattern.endsWith('.*')) return [{ module: pattern.slice(0, -2), name: '*' }];
  const parts = pattern.split('.');
  return parts.slice(1).map((_, index) => ({ module: parts.slice(0, index + 1).join('.'), name: parts.slice(index + 1).join('.') }));
}

function canonical(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/**
 * The policy with the model's allowances added to its artifact scan's, as
 * the run's snapshot (and so its report and policy digest) carries them. The
 * policy's own entries keep their order and the model's follow, so a model
 * that allows nothing more runs, and digests, exactly the policy.
 */
export function withScanAllowances(policy: StagePolicy, rules: ScanAllowanceRules | null): StagePolicy {
  if (!rules || (rules.allowedGlobals.length === 0 && rules.allowedOnnxDomains.length === 0)) return policy;
  return {
    ...policy,
    checks: policy.checks.map((check) =>
      check.id !== SCAN_CHECK_ID
        ? check
        : {
            ...check,
            thresholds: {
              ...check.thresholds,
              allowedGlobals: union(check.thresholds.allowedGlobals, rules.allowedGlobals),
              allowedOnnxDomains: union(check.thresholds.allowedOnnxDomains, rules.allowedOnnxDomains),
            },
          },
    ),
  };
}

function union(fromPolicy: unknown, fromModel: readonly string[]): string[] {
  const base = Array.isArray(fromPolicy) ? (fromPolicy as string[]) : [];
  return [...base, ...fromModel.filter((name) => !base.includes(name))];
}
