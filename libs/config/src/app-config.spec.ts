import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('defaults to embedded Postgres and filesystem blobs under ./data', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      dataDir: resolve('data'),
      database: { kind: 'embedded', dataDir: resolve('data', 'pg') },
      blobStore: { kind: 'filesystem', root: resolve('data', 'blobs') },
    });
  });

  it('selects Postgres and S3 from their variables', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/gatehouse',
      S3_BUCKET: 'models',
      S3_ENDPOINT: 'http://minio:9000',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@db:5432/gatehouse', poolSize: 10 });
    expect(config.blobStore).toMatchObject({
      kind: 's3',
      bucket: 'models',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
  });

  it('times out idle requests after 120 s by default, or after HTTP_IDLE_TIMEOUT_SECONDS', () => {
    expect(loadConfig({}).httpIdleTimeoutSeconds).toBe(120);
    expect(loadConfig({ HTTP_IDLE_TIMEOUT_SECONDS: '1' }).httpIdleTimeoutSeconds).toBe(1);
    for (const bad of ['0', '-5', '1.5', 'soon', '3601']) {
      expect(() => loadConfig({ HTTP_IDLE_TIMEOUT_SECONDS: bad })).toThrow(/HTTP_IDLE_TIMEOUT_SECONDS/);
    }
  });

  it('takes JSON bodies up to 1 MiB by default, or up to MAX_JSON_BODY_SIZE bytes, at most 64 MiB', () => {
    expect(loadConfig({}).maxJsonBodySize).toBe(1024 * 1024);
    expect(loadConfig({ MAX_JSON_BODY_SIZE: '4096' }).maxJsonBodySize).toBe(4096);
    for (const bad of ['0', '1023', '1mb', String(64 * 1024 * 1024 + 1)]) {
      expect(() => loadConfig({ MAX_JSON_BODY_SIZE: bad })).toThrow(/MAX_JSON_BODY_SIZE/);
    }
  });

  it('re-scans on start unless RESCAN_ON_START is false', () => {
    expect(loadConfig({}).gates.rescanOnStart).toBe(true);
    expect(loadConfig({ RESCAN_ON_START: 'true' }).gates.rescanOnStart).toBe(true);
    expect(loadConfig({ RESCAN_ON_START: 'false' }).gates.rescanOnStart).toBe(false);
    expect(() => loadConfig({ RESCAN_ON_START: 'no' })).toThrow(/RESCAN_ON_START must be true or false/);
  });

  it('asks a token for /metrics unless METRICS_AUTH is open', () => {
    expect(loadConfig({}).metricsAuth).toBe('token');
    expect(loadConfig({ METRICS_AUTH: '' }).metricsAuth).toBe('token');
    expect(loadConfig({ METRICS_AUTH: 'token' }).metricsAuth).toBe('token');
    expect(loadConfig({ METRICS_AUTH: 'open' }).metricsAuth).toBe('open');
    for (const bad of ['none', 'Open', 'basic']) {
      expect(() => loadConfig({ METRICS_AUTH: bad })).toThrow('METRICS_AUTH must be token (any valid API token) or open (no token)');
    }
  });

  it('delivers webhooks with production defaults, each setting from its variable and bounded', () => {
    expect(loadConfig({}).webhooks).toEqual({ concurrency: 4, pollMs: 1000, retryBaseMs: 30_000, maxAttempts: 10, timeoutMs: 10_000, retentionDays: 30 });
    expect(
      loadConfig({
        WEBHOOK_CONCURRENCY: '0',
        WEBHOOK_POLL_MS: '20',
        WEBHOOK_RETRY_BASE_MS: '50',
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_TIMEOUT_MS: '500',
        WEBHOOK_RETENTION_DAYS: '7',
      }).webhooks,
    ).toEqual({
      concurrency: 0,
      pollMs: 20,
      retryBaseMs: 50,
      maxAttempts: 3,
      timeoutMs: 500,
      retentionDays: 7,
    });
    let error: unknown;
    try {
      loadConfig({
        WEBHOOK_CONCURRENCY: '65',
        WEBHOOK_POLL_MS: '1',
        WEBHOOK_RETRY_BASE_MS: 'soon',
        WEBHOOK_MAX_ATTEMPTS: '0',
        WEBHOOK_TIMEOUT_MS: '600000',
        WEBHOOK_RETENTION_DAYS: '0',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const variable of ['WEBHOOK_CONCURRENCY', 'WEBHOOK_POLL_MS', 'WEBHOOK_RETRY_BASE_MS', 'WEBHOOK_MAX_ATTEMPTS', 'WEBHOOK_TIMEOUT_MS', 'WEBHOOK_RETENTION_DAYS']) {
      expect((error as ConfigError).message).toContain(variable);
    }
  });

  it('windows telemetry by the minute and keeps it two weeks by default, each setting bounded', () => {
    expect(loadConfig({}).telemetry).toEqual({ windowSeconds: 60, retentionDays: 14, labelWaitHours: 24, maxBatch: 10_000 });
    expect(loadConfig({ TELEMETRY_WINDOW_SECONDS: '5', TELEMETRY_RETENTION_DAYS: '1', TELEMETRY_LABEL_WAIT_HOURS: '2', TELEMETRY_MAX_BATCH: '10' }).telemetry).toEqual({
      windowSeconds: 5,
      retentionDays: 1,
      labelWaitHours: 2,
      maxBatch: 10,
    });
    const variables = ['TELEMETRY_WINDOW_SECONDS', 'TELEMETRY_RETENTION_DAYS', 'TELEMETRY_LABEL_WAIT_HOURS', 'TELEMETRY_MAX_BATCH'];
    expect(() => loadConfig(Object.fromEntries(variables.map((variable) => [variable, '0'])))).toThrow(new RegExp(variables.join('[^]*')));
  });

  it('reads the shipped monitoring policy unless MONITORING_POLICY names another, and polls for analysis intervals every second', () => {
    expect(loadConfig({}).monitoring).toEqual({ policyFile: expect.stringMatching(/config\/monitoring\.json$/), pollMs: 1000 });
    expect(loadConfig({ MONITORING_POLICY: 'custom.json', ANALYSIS_POLL_MS: '50' }).monitoring).toEqual({ policyFile: resolve('custom.json'), pollMs: 50 });
    expect(() => loadConfig({ ANALYSIS_POLL_MS: '5' })).toThrow(/ANALYSIS_POLL_MS/);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', S3_ENDPOINT: 'not a url', GATEHOUSE_ADMIN_TOKEN: 'short', AWS_ACCESS_KEY_ID: 'id', METRICS_AUTH: 'none' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const variable of ['PORT', 'DATABASE_URL', 'S3_ENDPOINT', 'GATEHOUSE_ADMIN_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'S3_BUCKET', 'METRICS_AUTH']) {
      expect(message).toContain(variable);
    }
  });
});
