import { createInterface } from 'node:readline';
import { Injectable, Logger } from '@nestjs/common';
import { referenceProfile, type ReferenceExample, type ReferenceProfile } from '@gatehouse/canary-judge';
import { VersionService } from '@gatehouse/catalog';
import { ReadCache, TransactionRunner } from '@gatehouse/database';
import type { DatasetRole } from '@gatehouse/gate-engine';
import { SeededRandom } from '@gatehouse/onnx';
import { BlobCorruptError, BlobMissingError, ContentAddressedStore } from '@gatehouse/storage';
import { TelemetryRepository, type StoredProfile } from './telemetry.repository';

/** Which of a version's datasets describes what it will be asked: its training data first, as the brief measures drift against it. */
const PROFILE_ROLES: readonly DatasetRole[] = ['training', 'reference', 'evaluation', 'validation'];
/** A profile is binned from at most this many examples, sampled from the whole file: deciles need no more. */
const PROFILE_EXAMPLES = 10_000;
/** A profile never changes once stored, so a replica keeps it for as long as memory allows. */
const CACHE_TTL_MS = 24 * 3600_000;
const CACHE_ENTRIES = 512;

/**
 * The reference profile of each version: the bins its training data gives
 * its features and predictions, which its telemetry is folded against and
 * drift is measured from. Computed once from the dataset's stored file, kept
 * in the database for every replica, and cached.
 */
@Injectable()
export class ReferenceProfiles {
  private readonly logger = new Logger('ReferenceProfiles');
  private readonly cache = new ReadCache<string, StoredProfile>(CACHE_TTL_MS, CACHE_ENTRIES);

  constructor(
    private readonly repository: TelemetryRepository,
    private readonly versions: VersionService,
    private readonly content: ContentAddressedStore,
    private readonly transactions: TransactionRunner,
  ) {}

  /** The version's profile; null when it has no stored dataset to profile (features then go unbinned, drift has no data). */
  async of(versionId: string): Promise<ReferenceProfile | null> {
    return (await this.cache.get(versionId, () => this.stored(versionId))).profile;
  }

  /** The dataset the version's profile was computed from (name@version); null when it has none. */
  async datasetOf(versionId: string): Promise<string | null> {
    return (await this.cache.get(versionId, () => this.stored(versionId))).dataset;
  }

  private async stored(versionId: string): Promise<StoredProfile> {
    const manager = this.transactions.manager;
    const existing = await this.repository.profile(manager, versionId);
    if (existing) return existing;
    await this.repository.storeProfile(manager, versionId, await this.compute(versionId));
    const stored = await this.repository.profile(manager, versionId);
    if (!stored) throw new Error(`the reference profile of version ${versionId} was stored and is gone`);
    return stored;
  }

  private async compute(versionId: string): Promise<StoredProfile> {
    const subject = await this.versions.gateSubject(versionId);
    const stored = subject.datasets.filter((use) => use.size !== null);
    const dataset = PROFILE_ROLES.map((role) => stored.find((use) => use.role === role)).find((use) => use !== undefined);
    if (!dataset || dataset.size === null) return { dataset: null, profile: null };
    const name = `${dataset.name}@${dataset.version}`;
    try {
      const examples = await this.sample({ sha256: dataset.sha256, size: dataset.size });
      this.logger.log(`profiled ${subject.model}@${subject.version} from dataset ${name} (${examples.length} examples)`);
      // Only regression predicts values; every other task's predictions are counted as classes.
      return { dataset: name, profile: referenceProfile(examples, { task: subject.task === 'regression' ? 'regression' : 'classification' }) };
    } catch (error) {
      // A dataset that cannot be read as JSON Lines gives no profile, for good: the same bytes will not read better later.
      if (!(error instanceof SyntaxError || error instanceof BlobCorruptError || error instanceof BlobMissingError)) throw error;
      this.logger.warn(`${subject.model}@${subject.version} gets no reference profile: dataset ${name} is unusable (${error.message})`);
      return { dataset: null, profile: null };
    }
  }

  private async sample(dataset: { sha256: string; size: number }): Promise<ReferenceExample[]> {
    const source = await this.content.openVerified({ sha256: dataset.sha256, size: dataset.size }, 'internal');
    // A reservoir sample (Algorithm R) seeded by the file's digest: unbiased over the whole file, and the same from the same bytes.
    const random = new SeededRandom(Number.parseInt(dataset.sha256.slice(0, 8), 16));
    const examples: ReferenceExample[] = [];
    let seen = 0;
    for await (const line of createInterface({ input: source, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      seen++;
      const slot = seen <= PROFILE_EXAMPLES ? seen - 1 : Math.floor(random.next() * seen);
      if (slot < PROFILE_EXAMPLES) examples[slot] = JSON.parse(line) as ReferenceExample;
    }
    return examples;
  }
}
