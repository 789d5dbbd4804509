import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { VersionSecurityService, type RescanCandidateRow } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { TransactionRunner } from '@gatehouse/database';
import type { RescanQueuedResponse, RescanResponse } from './dto/rescan.dto';
import type { GatePolicy } from '@gatehouse/gate-engine';
import { GateRunRepository } from './gate-run.repository';
import { GATE_POLICY, GateRunService } from './gate-run.service';
import { withScanAllowances } from './scan-allowances';
import { rescanPolicy, rescanReason, scannerVersionOf, scanPolicyDigest } from './scan-verdict';

/** The audit actor of the re-scans a start queues. */
const STARTUP_ACTOR = 'gatehouse:rescan';

/**
 * Re-scans what serves or is validated when the scanner or the scan's policy
 * changed since its verdict: at start (RESCAN_ON_START) and on an admin's
 * request. Queueing is serialised across replicas, so replicas starting
 * together queue each version once; the runs are ordinary durable gate runs.
 */
@Injectable()
export class RescanService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Rescan');

  constructor(
    private readonly runs: GateRunRepository,
    private readonly gateRuns: GateRunService,
    private readonly security: VersionSecurityService,
    private readonly transactions: TransactionRunner,
    @Inject(GATE_POLICY) private readonly policy: GatePolicy,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.gates.rescanOnStart) return;
    try {
      const { queued, alreadyQueued } = await this.queue(STARTUP_ACTOR, { all: false });
      if (queued.length > 0) this.logger.log(`queued ${queued.length} re-scan(s) under scanner ${scannerVersionOf(this.config)}; ${alreadyQueued.length} already queued`);
    } catch (error) {
      // The server still serves; the next start or `POST /v1/admin/rescan` queues them.
      this.logger.error(`could not queue re-scans: ${(error as Error).message}`);
    }
  }

  /** Queues a re-scan of each version whose verdict is out of date (or of every one, with `all`), skipping those with one open. */
  async queue(actor: string, options: { all: boolean }): Promise<RescanResponse> {
    const scannerVersion = scannerVersionOf(this.config);
    const response = await this.transactions.run(async (tx) => {
      await this.runs.lockRescanQueue(tx);
      const open = await this.runs.openRescans(tx);
      const result: RescanResponse = { scannerVersion, queued: [], alreadyQueued: [], unscannable: [] };
      for (const version of await this.security.rescanCandidates(tx)) {
        const stagePolicy = rescanPolicy(this.policy, version.stage, version.task);
        if (!stagePolicy) {
          result.unscannable.push(`${version.model}@${version.version}`);
          continue;
        }
        // Digested as the gate runs digest it, the model's allowances included, or its verdicts would never be current.
        const policy = withScanAllowances(stagePolicy, version.scanAllowances);
        const reason = rescanReason(version.security, scannerVersion, scanPolicyDigest(policy)!) ?? (options.all ? 'requested' : undefined);
        if (!reason) continue;
        const openRun = open.get(version.id);
        if (openRun) {
          result.alreadyQueued.push({ gateRunId: openRun, model: version.model, version: version.version });
          continue;
        }
        const run = await this.gateRuns.enqueueRescan(tx, { versionId: version.id, ref: version, task: version.task, actor }, policy);
        result.queued.push(queued(run.id, version, reason));
      }
      return result;
    });
    if (response.queued.length > 0) this.gateRuns.wake();
    return response;
  }
}

function queued(gateRunId: string, version: RescanCandidateRow, reason: RescanQueuedResponse['reason']): RescanQueuedResponse {
  return { gateRunId, model: version.model, version: version.version, stage: version.stage, reason, links: { gateRun: `/v1/gate-runs/${gateRunId}` } };
}
