import { promtoolCheck, sampleValue, samplesOf } from '../../../test/support/prometheus';
import { MetricsService } from './metrics.service';

const scrape = async (metrics: MetricsService) => samplesOf(await metrics.exposition());

describe('MetricsService', () => {
  it('counts on a registry of its own: two services in one process see only their own counts', async () => {
    const first = new MetricsService();
    const second = new MetricsService();
    first.rolledBack('production');
    first.rolledBack('production');
    second.rolledBack('canary');
    expect(sampleValue(await scrape(first), 'gatehouse_rollbacks_total', { stage: 'production' })).toBe(2);
    expect(sampleValue(await scrape(first), 'gatehouse_rollbacks_total', { stage: 'canary' })).toBe(0);
    expect(sampleValue(await scrape(second), 'gatehouse_rollbacks_total', { stage: 'canary' })).toBe(1);
    expect(sampleValue(await scrape(second), 'gatehouse_rollbacks_total', { stage: 'production' })).toBe(0);
  });

  it('labels HTTP requests by route template, one fixed value for unmatched routes and for unknown methods', async () => {
    const metrics = new MetricsService();
    metrics.httpRequest({ method: 'get', route: '/v1/models/:name', statusCode: 200, seconds: 0.003 });
    metrics.httpRequest({ method: 'GET', route: '/v1/models/:name', statusCode: 200, seconds: 0.2 });
    metrics.httpRequest({ method: 'GET', route: undefined, statusCode: 404, seconds: 0.001 });
    metrics.httpRequest({ method: 'PROPFIND', route: undefined, statusCode: 404, seconds: 0.001 });
    const samples = await scrape(metrics);
    const count = (labels: Record<string, string>) => sampleValue(samples, 'gatehouse_http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/v1/models/:name', status_code: '200' })).toBe(2);
    expect(sampleValue(samples, 'gatehouse_http_request_duration_seconds_bucket', { route: '/v1/models/:name', le: '0.005' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_http_request_duration_seconds_sum', { route: '/v1/models/:name' })).toBeCloseTo(0.203);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(count({ method: 'other', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(new Set(samples.filter((sample) => sample.name.startsWith('gatehouse_http_')).map((sample) => sample.labels.route))).toEqual(new Set(['/v1/models/:name', 'unmatched']));
  });

  it('counts finished gate runs by stage and outcome, with their duration', async () => {
    const metrics = new MetricsService();
    metrics.gateRunFinished('registered', 'passed', 1.5);
    metrics.gateRunFinished('registered', 'failed', 40);
    metrics.gateRunFinished('production', 'passed', 3);
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'gatehouse_gate_runs_finished_total', { stage: 'registered', outcome: 'passed' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_gate_runs_finished_total', { stage: 'registered', outcome: 'failed' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_gate_runs_finished_total', { stage: 'production', outcome: 'error' })).toBe(0);
    expect(sampleValue(samples, 'gatehouse_gate_run_duration_seconds_bucket', { stage: 'registered', outcome: 'failed', le: '30' })).toBe(0);
    expect(sampleValue(samples, 'gatehouse_gate_run_duration_seconds_bucket', { stage: 'registered', outcome: 'failed', le: '60' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_gate_run_duration_seconds_sum', { stage: 'production', outcome: 'passed' })).toBe(3);
  });

  it('reads the gate queue depth at each scrape, NaN when the read fails, and only once a reader is given', async () => {
    const metrics = new MetricsService();
    expect((await scrape(metrics)).some((sample) => sample.name === 'gatehouse_gate_runs_queued')).toBe(false);
    let queued: number | Error = 3;
    metrics.readGateQueueDepthWith(async () => {
      if (queued instanceof Error) throw queued;
      return queued;
    });
    expect(sampleValue(await scrape(metrics), 'gatehouse_gate_runs_queued')).toBe(3);
    queued = 0;
    expect(sampleValue(await scrape(metrics), 'gatehouse_gate_runs_queued')).toBe(0);
    queued = new Error('connection refused');
    expect(sampleValue(await scrape(metrics), 'gatehouse_gate_runs_queued')).toBeNaN();
    expect(() => metrics.readGateQueueDepthWith(async () => 1)).toThrow('already has a reader');
  });

  it('counts lease renewals, decided promotions, blob bytes in and out, and audit events by action', async () => {
    const metrics = new MetricsService();
    metrics.gateLeaseRenewal('renewed');
    metrics.gateLeaseRenewal('renewed');
    metrics.gateLeaseRenewal('lost');
    metrics.promotionDecided('staging', 'completed');
    metrics.promotionDecided('production', 'rejected');
    metrics.blobBytesStored(1000);
    metrics.blobBytesStored(24);
    metrics.blobBytesDownloaded(512);
    metrics.blobBytesDownloaded(2048);
    metrics.auditEventAppended('model.created');
    metrics.auditEventAppended('model.created');
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'gatehouse_gate_lease_renewals_total', { result: 'renewed' })).toBe(2);
    expect(sampleValue(samples, 'gatehouse_gate_lease_renewals_total', { result: 'lost' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_promotions_decided_total', { stage: 'staging', outcome: 'completed' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_promotions_decided_total', { stage: 'production', outcome: 'rejected' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_blob_bytes_in_total')).toBe(1024);
    expect(sampleValue(samples, 'gatehouse_blob_bytes_out_total')).toBe(2560);
    expect(sampleValue(samples, 'gatehouse_audit_events_appended_total', { action: 'model.created' })).toBe(2);
  });

  it('counts webhook delivery attempts by outcome, and reads the backlog at each scrape, NaN when the read fails', async () => {
    const metrics = new MetricsService();
    metrics.webhookDeliveryAttempted('retrying');
    metrics.webhookDeliveryAttempted('retrying');
    metrics.webhookDeliveryAttempted('delivered');
    metrics.webhookDeliveryAttempted('dead');
    expect((await scrape(metrics)).some((sample) => sample.name === 'gatehouse_webhook_backlog')).toBe(false);
    let backlog: { pending: number; dead: number } | Error = { pending: 4, dead: 1 };
    metrics.readWebhookBacklogWith(async () => {
      if (backlog instanceof Error) throw backlog;
      return backlog;
    });
    let samples = await scrape(metrics);
    expect(sampleValue(samples, 'gatehouse_webhook_deliveries_total', { outcome: 'retrying' })).toBe(2);
    expect(sampleValue(samples, 'gatehouse_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_webhook_deliveries_total', { outcome: 'dead' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_webhook_backlog', { status: 'pending' })).toBe(4);
    expect(sampleValue(samples, 'gatehouse_webhook_backlog', { status: 'dead' })).toBe(1);
    backlog = new Error('connection refused');
    samples = await scrape(metrics);
    expect(sampleValue(samples, 'gatehouse_webhook_backlog', { status: 'pending' })).toBeNaN();
    expect(() => metrics.readWebhookBacklogWith(async () => ({ pending: 0, dead: 0 }))).toThrow('already has a reader');
  });

  it('exposes process metrics beside its own, in an exposition promtool accepts without a lint problem', async () => {
    const metrics = new MetricsService();
    metrics.httpRequest({ method: 'PUT', route: '/v1/models/:name/versions/:version/files/*path', statusCode: 201, seconds: 0.5 });
    metrics.gateRunFinished('staging', 'error', 2);
    metrics.gateLeaseRenewal('failed');
    metrics.readGateQueueDepthWith(async () => 2);
    metrics.promotionDecided('canary', 'completed');
    metrics.rolledBack('production');
    metrics.blobBytesStored(10);
    metrics.blobBytesDownloaded(10);
    metrics.auditEventAppended('stage.rolled_back');
    metrics.webhookDeliveryAttempted('delivered');
    metrics.readWebhookBacklogWith(async () => ({ pending: 1, dead: 0 }));
    const exposition = await metrics.exposition();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const names = new Set(samplesOf(exposition).map((sample) => sample.name));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) expect(names).toContain(name);
    expect(promtoolCheck(exposition)).toEqual({ parsed: true, problems: [] });
    expect(promtoolCheck(`${exposition}gatehouse_broken{stage="x} 1\n`).parsed).toBe(false);
  });
});
