import { readFileSync } from 'node:fs';
import { ROLES } from '@gatehouse/auth';
import { SERVING_STAGES, type ServingStage } from '@gatehouse/catalog';
import type { Role } from './promotion-rules';
import { FileProblemsError } from '@gatehouse/errors';

/** Where a version may be promoted from: 'none' is a validated version not serving at any stage. */
const PROMOTION_SOURCES = ['none', 'staging', 'canary'] as const;
export type PromotionSource = (typeof PROMOTION_SOURCES)[number];

export interface StageRule {
  from: PromotionSource[];
  approvals: number;
  /** The roles whose tokens may approve or reject a request to this stage. */
  approvers: Role[];
}

const MAX_APPROVALS = 10;
/** Approvers when a stage names none: admin is not one unless the policy lists it. */
const DEFAULT_APPROVERS: Role[] = ['approver'];

export class PromotionPolicyError extends FileProblemsError {
  constructor(source: string, problems: string[]) {
    super('promotion policy', source, problems);
  }
}

/** config/promotion.json: per target stage, the stages a version may come from, the approvals it needs and who may give them. */
export class PromotionPolicy {
  private constructor(
    private readonly rules: Partial<Record<ServingStage, StageRule>>,
    /** Where the policy was read from: errors about approvers name it. */
    readonly source: string,
  ) {}

  static load(path: string): PromotionPolicy {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new PromotionPolicyError(path, [`cannot read it as JSON: ${(error as Error).message}`]);
    }
    return PromotionPolicy.parse(json, path);
  }

  /** Every problem at once, so one edit fixes the file. */
  static parse(json: unknown, source = 'promotion policy'): PromotionPolicy {
    const problems: string[] = [];
    const rules: Partial<Record<ServingStage, StageRule>> = {};
    if (!isObject(json)) throw new PromotionPolicyError(source, ['the policy must be a JSON object with "stages"']);
    // "aliases" is the catalog's: its AliasPolicy reads and checks that section of the same file.
    for (const key of Object.keys(json)) if (!['stages', 'aliases', '$comment'].includes(key)) problems.push(`unknown key "${key}"`);
    if (!isObject(json.stages)) problems.push('"stages" must be an object keyed by stage');
    for (const [stage, rule] of Object.entries(isObject(json.stages) ? json.stages : {})) {
      const at = `stages.${stage}`;
      if (!(SERVING_STAGES as readonly string[]).includes(stage)) {
        problems.push(`${at}: unknown stage (expected one of ${SERVING_STAGES.join(', ')})`);
        continue;
      }
      if (!isObject(rule)) {
        problems.push(`${at} must be an object with "from" and "approvals"`);
        continue;
      }
      for (const key of Object.keys(rule)) if (!['from', 'approvals', 'approvers', '$comment'].includes(key)) problems.push(`${at}: unknown key "${key}"`);
      const from = rule.from;
      if (!Array.isArray(from) || from.length === 0) problems.push(`${at}.from must be a non-empty list of ${PROMOTION_SOURCES.join(', ')}`);
      else {
        for (const source of from) {
          if (!(PROMOTION_SOURCES as readonly unknown[]).includes(source))
            problems.push(`${at}.from: unknown stage ${JSON.stringify(source)} (expected ${PROMOTION_SOURCES.join(', ')})`);
          else if (SERVING_STAGES.indexOf(source as ServingStage) >= SERVING_STAGES.indexOf(stage as ServingStage)) problems.push(`${at}.from: ${source} is not before ${stage}`);
        }
      }
      const approvals = rule.approvals ?? 0;
      if (typeof approvals !== 'number' || !Number.isInteger(approvals) || approvals < 0 || approvals > MAX_APPROVALS) {
        problems.push(`${at}.approvals must be a whole number from 0 to ${MAX_APPROVALS}`);
      }
      const approvers = rule.approvers ?? DEFAULT_APPROVERS;
      if (!Array.isArray(approvers) || approvers.length === 0) problems.push(`${at}.approvers must be a non-empty list of roles (${ROLES.join(', ')})`);
      else {
        for (const role of approvers) {
          if (!(ROLES as readonly unknown[]).includes(role)) problems.push(`${at}.approvers: unknown role ${JSON.stringify(role)} (expected ${ROLES.join(', ')})`);
        }
      }
      rules[stage as ServingStage] = {
        from: (Array.isArray(from) ? from : []) as PromotionSource[],
        approvals: approvals as number,
        approvers: [...new Set(Array.isArray(approvers) ? (approvers as Role[]) : [])],
      };
    }
    if (problems.length > 0) throw new PromotionPolicyError(source, problems);
    return new PromotionPolicy(rules, source);
  }

  /** The rule for a target stage; undefined when the policy does not allow promotions to it. */
  rule(stage: ServingStage): StageRule | undefined {
    return this.rules[stage];
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
