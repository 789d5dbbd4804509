import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

/** Bounded so that the storage's stale-upload grace (a day) always outlasts it. */
const MAX_HTTP_IDLE_TIMEOUT_SECONDS = 3600;

/** Bounded because a JSON body is held whole in memory while it is parsed, transformed and validated. */
const MAX_JSON_BODY_SIZE_CEILING = 64 * 1024 ** 2;

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** Bounded so that a retry schedule stays within days, not weeks. */
const MAX_WEBHOOK_RETRY_BASE_MS = 3_600_000;

/** Bounded because each attempt in flight holds its delivery's lease for this long. */
const MAX_WEBHOOK_TIMEOUT_MS = 120_000;

/** Who may read /metrics: any valid API token (a Prometheus scraper's bearer_token_file), or anyone. */
export const METRICS_AUTH_MODES = ['token', 'open'] as const;
export type MetricsAuth = (typeof METRICS_AUTH_MODES)[number];

/** The environment as the registry understands it; every variable is optional. */
class Environment {
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  HOST?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'S3_BUCKET must be a valid S3 bucket name' })
  S3_BUCKET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'S3_ENDPOINT must be an http(s) URL' })
  S3_ENDPOINT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  S3_REGION?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'S3_FORCE_PATH_STYLE must be true or false' })
  S3_FORCE_PATH_STYLE?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  AWS_ACCESS_KEY_ID?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  AWS_SECRET_ACCESS_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  AWS_SESSION_TOKEN?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  MAX_FILE_SIZE?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1024)
  @Max(MAX_JSON_BODY_SIZE_CEILING)
  MAX_JSON_BODY_SIZE?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_HTTP_IDLE_TIMEOUT_SECONDS)
  HTTP_IDLE_TIMEOUT_SECONDS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'GATEHOUSE_ADMIN_TOKEN must be at least 32 characters' })
  GATEHOUSE_ADMIN_TOKEN?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['text', 'json'], { message: 'LOG_FORMAT must be text or json (unset: text on a terminal, json otherwise)' })
  LOG_FORMAT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  GATE_POLICY?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(64)
  GATE_WORKERS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3600)
  GATE_LEASE_SECONDS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(60_000)
  GATE_POLL_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  GATE_MAX_ATTEMPTS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'RESCAN_ON_START must be true or false' })
  RESCAN_ON_START?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 60)
  GC_INTERVAL_MINUTES?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 60)
  GC_GRACE_MINUTES?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  PROMOTION_POLICY?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(64)
  WEBHOOK_CONCURRENCY?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(60_000)
  WEBHOOK_POLL_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(MAX_WEBHOOK_RETRY_BASE_MS)
  WEBHOOK_RETRY_BASE_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  WEBHOOK_MAX_ATTEMPTS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(MAX_WEBHOOK_TIMEOUT_MS)
  WEBHOOK_TIMEOUT_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  WEBHOOK_RETENTION_DAYS?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  MONITORING_POLICY?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(60_000)
  ANALYSIS_POLL_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3600)
  TELEMETRY_WINDOW_SECONDS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(366)
  TELEMETRY_RETENTION_DAYS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  TELEMETRY_LABEL_WAIT_HOURS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  TELEMETRY_MAX_BATCH?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(METRICS_AUTH_MODES, { message: 'METRICS_AUTH must be token (any valid API token) or open (no token)' })
  METRICS_AUTH?: string;
}

export type DatabaseConfig = { kind: 'embedded'; dataDir: string } | { kind: 'postgres'; url: string; poolSize: number };

export type BlobStoreConfig =
  | { kind: 'filesystem'; root: string }
  | {
      kind: 's3';
      bucket: string;
      endpoint?: string;
      region: string;
      forcePathStyle: boolean;
      /** Absent: the SDK's default chain (instance role, profile, SSO). */
      credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    };

export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

/** Validated, typed configuration; built once at start from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseConfig;
  blobStore: BlobStoreConfig;
  maxFileSize: number;
  /** Largest JSON request body, in bytes. */
  maxJsonBodySize: number;
  /** A request whose body stops arriving for this long is cut; there is no limit on a request's total time. */
  httpIdleTimeoutSeconds: number;
  adminToken?: string;
  logLevel: LogLevel;
  /** Absent: text when the logs go to a terminal, JSON lines otherwise. */
  logFormat?: 'json' | 'text';
  gates: GateRunnerConfig;
  /** config/promotion.json, or the file PROMOTION_POLICY names: allowed moves and approvals per stage. */
  promotionPolicyFile: string;
  /** Whether GET /metrics asks for a token. */
  metricsAuth: MetricsAuth;
  collector: CollectorConfig;
  webhooks: WebhookDeliveryConfig;
  telemetry: TelemetryConfig;
  monitoring: MonitoringConfig;
}

/** Canary analysis: config/monitoring.json (or MONITORING_POLICY), and how often each replica looks for intervals to judge. */
export interface MonitoringConfig {
  policyFile: string;
  pollMs: number;
}

/** How pushed telemetry is windowed, kept and bounded. */
export interface TelemetryConfig {
  /** Observations fold into one aggregate per version and window of this many seconds. */
  windowSeconds: number;
  retentionDays: number;
  /** How long a prediction reported with a request id waits for its label. */
  labelWaitHours: number;
  /** Observations or labels in one batch, at most (MAX_JSON_BODY_SIZE bounds its bytes). */
  maxBatch: number;
}

/** How each replica delivers the outbox to webhook subscriptions. */
export interface WebhookDeliveryConfig {
  /** Deliveries this process attempts at once; 0 leaves them to other replicas. */
  concurrency: number;
  pollMs: number;
  /** The first retry waits about this long; each one after waits twice as long as the one before, with jitter. */
  retryBaseMs: number;
  /** Attempts before a delivery is dead (a dead letter, replayable). */
  maxAttempts: number;
  /** A receiver that has not answered within this is a failed attempt. */
  timeoutMs: number;
  /** Events whose every delivery was made are kept this long, then pruned with their delivery history; dead letters stay until replayed. */
  retentionDays: number;
}

/** The blob collector: how often each replica runs it (0: only on demand) and how old an unreferenced blob must be to go. */
export interface CollectorConfig {
  intervalMinutes: number;
  graceMinutes: number;
}

export interface GateRunnerConfig {
  /** config/gates.json, or the file GATE_POLICY names. */
  policyFile: string;
  /** Gate runs this process executes at once; 0 leaves them to other replicas. */
  workers: number;
  /** A claimed run whose worker stops renewing is picked up again after this. */
  leaseSeconds: number;
  pollMs: number;
  /** Tries of a run that keeps failing for infrastructure reasons (not on failed checks). */
  maxAttempts: number;
  /** Queue re-scans at start of what serves or is validated, when the scanner or the scan's policy changed since its verdict. */
  rescanOnStart: boolean;
  /**
   * The scanner version verdicts record and re-scans compare with. Never read
   * from the environment: absent, it is the scanner's own SCANNER_VERSION; tests
   * set it to stand for a scanner upgrade without changing the scanner.
   */
  scannerVersion?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DEFAULT_MAX_FILE_SIZE = 20 * 1024 ** 3;
const DEFAULT_MAX_JSON_BODY_SIZE = 1024 ** 2;

/** Reads the registry's variables from `env`, naming every bad one at once. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = plainToInstance(Environment, { ...env }, { excludeExtraneousValues: false });
  const problems = validateSync(parsed, { stopAtFirstError: true }).flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => (message.startsWith(error.property) ? message : `${error.property}: ${message}`)),
  );
  if (!!parsed.AWS_ACCESS_KEY_ID !== !!parsed.AWS_SECRET_ACCESS_KEY) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  if (parsed.S3_ENDPOINT && !parsed.S3_BUCKET) problems.push('S3_BUCKET is required when S3_ENDPOINT is set');
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = resolve(parsed.DATA_DIR ?? './data');
  return {
    port: parsed.PORT ?? 8080,
    host: parsed.HOST ?? '0.0.0.0',
    dataDir,
    database: parsed.DATABASE_URL
      ? { kind: 'postgres', url: parsed.DATABASE_URL, poolSize: parsed.DATABASE_POOL_SIZE ?? 10 }
      : { kind: 'embedded', dataDir: resolve(dataDir, 'pg') },
    blobStore: parsed.S3_BUCKET
      ? {
          kind: 's3',
          bucket: parsed.S3_BUCKET,
          endpoint: parsed.S3_ENDPOINT,
          region: parsed.S3_REGION ?? 'us-east-1',
          // Non-AWS endpoints (MinIO, s3rver, Ceph) rarely support virtual-hosted buckets.
          forcePathStyle: parsed.S3_FORCE_PATH_STYLE ? parsed.S3_FORCE_PATH_STYLE === 'true' : !!parsed.S3_ENDPOINT,
          credentials:
            parsed.AWS_ACCESS_KEY_ID && parsed.AWS_SECRET_ACCESS_KEY
              ? {
                  accessKeyId: parsed.AWS_ACCESS_KEY_ID,
                  secretAccessKey: parsed.AWS_SECRET_ACCESS_KEY,
                  sessionToken: parsed.AWS_SESSION_TOKEN,
                }
              : undefined,
        }
      : { kind: 'filesystem', root: resolve(dataDir, 'blobs') },
    maxFileSize: parsed.MAX_FILE_SIZE ?? DEFAULT_MAX_FILE_SIZE,
    maxJsonBodySize: parsed.MAX_JSON_BODY_SIZE ?? DEFAULT_MAX_JSON_BODY_SIZE,
    httpIdleTimeoutSeconds: parsed.HTTP_IDLE_TIMEOUT_SECONDS ?? 120,
    adminToken: parsed.GATEHOUSE_ADMIN_TOKEN,
    logLevel: (parsed.LOG_LEVEL as LogLevel | undefined) ?? 'log',
    logFormat: parsed.LOG_FORMAT as 'json' | 'text' | undefined,
    gates: {
      policyFile: parsed.GATE_POLICY ? resolve(parsed.GATE_POLICY) : DEFAULT_GATE_POLICY_FILE,
      workers: parsed.GATE_WORKERS ?? 1,
      leaseSeconds: parsed.GATE_LEASE_SECONDS ?? 30,
      pollMs: parsed.GATE_POLL_MS ?? 1000,
      maxAttempts: parsed.GATE_MAX_ATTEMPTS ?? 3,
      rescanOnStart: parsed.RESCAN_ON_START !== 'false',
    },
    promotionPolicyFile: parsed.PROMOTION_POLICY ? resolve(parsed.PROMOTION_POLICY) : DEFAULT_PROMOTION_POLICY_FILE,
    metricsAuth: (parsed.METRICS_AUTH as MetricsAuth | undefined) ?? 'token',
    collector: { intervalMinutes: parsed.GC_INTERVAL_MINUTES ?? 360, graceMinutes: parsed.GC_GRACE_MINUTES ?? 24 * 60 },
    // Ten attempts 30 s apart at first, doubling: a receiver may be down for about four hours before a delivery is dead.
    webhooks: {
      concurrency: parsed.WEBHOOK_CONCURRENCY ?? 4,
      pollMs: parsed.WEBHOOK_POLL_MS ?? 1000,
      retryBaseMs: parsed.WEBHOOK_RETRY_BASE_MS ?? 30_000,
      maxAttempts: parsed.WEBHOOK_MAX_ATTEMPTS ?? 10,
      timeoutMs: parsed.WEBHOOK_TIMEOUT_MS ?? 10_000,
      retentionDays: parsed.WEBHOOK_RETENTION_DAYS ?? 30,
    },
    telemetry: {
      windowSeconds: parsed.TELEMETRY_WINDOW_SECONDS ?? 60,
      retentionDays: parsed.TELEMETRY_RETENTION_DAYS ?? 14,
      labelWaitHours: parsed.TELEMETRY_LABEL_WAIT_HOURS ?? 24,
      maxBatch: parsed.TELEMETRY_MAX_BATCH ?? 10_000,
    },
    monitoring: {
      policyFile: parsed.MONITORING_POLICY ? resolve(parsed.MONITORING_POLICY) : DEFAULT_MONITORING_POLICY_FILE,
      pollMs: parsed.ANALYSIS_POLL_MS ?? 1000,
    },
  };
}

/** The policy shipped with Gatehouse: config/gates.json at the project root, found from here in sources and in dist alike. */
export const DEFAULT_GATE_POLICY_FILE = findUp(__dirname, join('config', 'gates.json'));

/** The shipped promotion rules: config/promotion.json, found the same way. */
export const DEFAULT_PROMOTION_POLICY_FILE = findUp(__dirname, join('config', 'promotion.json'));

/** The shipped canary analysis policy: config/monitoring.json, found the same way. */
export const DEFAULT_MONITORING_POLICY_FILE = findUp(__dirname, join('config', 'monitoring.json'));

function findUp(from: string, relative: string): string {
  for (let directory = from; ; directory = dirname(directory)) {
    if (existsSync(join(directory, relative))) return join(directory, relative);
    if (dirname(directory) === directory) return resolve(relative);
  }
}

/** Injection token for the validated {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');
