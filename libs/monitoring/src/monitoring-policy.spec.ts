import { DEFAULT_ANALYSIS_POLICY, DEFAULT_JUDGE_CRITERIA } from '@gatehouse/canary-judge';
import { DEFAULT_MONITORING_POLICY_FILE } from '@gatehouse/config';
import { DEFAULT_PROMETHEUS_QUERIES, expandPrometheusQuery, MonitoringPolicy, MonitoringPolicyError } from './monitoring-policy';

function problems(json: unknown): string[] {
  try {
    MonitoringPolicy.parse(json, 'test');
  } catch (error) {
    if (error instanceof MonitoringPolicyError) return error.problems;
    throw error;
  }
  return [];
}

describe('MonitoringPolicy', () => {
  it('ships the schedule and criteria of canary-judge as its defaults', () => {
    const shipped = MonitoringPolicy.load(DEFAULT_MONITORING_POLICY_FILE).analysisFor('any-model');
    expect(shipped).toEqual({ enabled: true, ...DEFAULT_ANALYSIS_POLICY, criteria: DEFAULT_JUDGE_CRITERIA });
  });

  it('lets a model override any key, criteria key by key, and keeps the defaults for the rest', () => {
    const policy = MonitoringPolicy.parse({
      analysis: { steps: [10, 50], intervalSeconds: 30, bakeSeconds: 60 },
      models: { ranker: { analysis: { failureLimit: 1, criteria: { maxLatencyRatio: 1.2 } } }, legacy: { analysis: { enabled: false } } },
    });
    expect(policy.analysisFor('other')).toMatchObject({ steps: [10, 50], intervalSeconds: 30, failureLimit: DEFAULT_ANALYSIS_POLICY.failureLimit });
    expect(policy.analysisFor('ranker')).toMatchObject({ steps: [10, 50], failureLimit: 1, criteria: { ...DEFAULT_JUDGE_CRITERIA, maxLatencyRatio: 1.2 } });
    expect(policy.analysisFor('legacy').enabled).toBe(false);
  });

  it('names every problem at once', () => {
    expect(
      problems({
        analysis: { steps: [50, 25], intervalSeconds: 0, failureLimit: 1.5, criteria: { alpha: 2, minSamples: 0, speed: 1 } },
        models: { ranker: { analysis: { bakeSeconds: 10, intervalSeconds: 60 } }, broken: 3 },
        tracing: [],
      }),
    ).toEqual([
      'unknown key "tracing"',
      'analysis.steps must be increasing whole percents from 1 to 100, such as [5, 25, 50]',
      'analysis.intervalSeconds must be a whole number of seconds from 1 to 86400',
      'analysis.failureLimit must be a whole number from 1 to 1000',
      'analysis.criteria: unknown key "speed" (expected alpha, minErrorRateIncrease, minAccuracyRatio, maxLatencyRatio, maxErrorRateRatio, maxDrift, minSamples, minDriftSamples, minLabels)',
      'analysis.criteria.alpha must be a number between 0 and 1',
      'analysis.criteria.minSamples must be a whole number from 1',
      'models.ranker.analysis: bakeSeconds (10) is shorter than one interval (60 s)',
      'models.broken must be an object with "analysis" or "provider"',
    ]);
  });

  describe('provider', () => {
    it('reads pushed telemetry by default, and Prometheus with the default queries and timeout for a model that names only its address', () => {
      const policy = MonitoringPolicy.parse({ models: { ranker: { provider: { kind: 'prometheus', address: 'http://prometheus:9090/' } } } });
      expect(policy.providerFor('other')).toEqual({ kind: 'telemetry' });
      expect(policy.providerFor('ranker')).toEqual({ kind: 'prometheus', address: 'http://prometheus:9090', queries: DEFAULT_PROMETHEUS_QUERIES, timeoutMs: 5000 });
    });

    it('takes a default Prometheus provider, and queries and timeout key by key', () => {
      const policy = MonitoringPolicy.parse({
        provider: {
          kind: 'prometheus',
          address: 'https://metrics.example.com/prometheus',
          timeoutMs: 2000,
          queries: { errors: 'sum(increase(model_requests_total{model="{{model}}",version="{{ version }}",error="true"}[{{window}}]))' },
        },
        models: { legacy: { provider: { kind: 'telemetry' } } },
      });
      expect(policy.providerFor('ranker')).toEqual({
        kind: 'prometheus',
        address: 'https://metrics.example.com/prometheus',
        timeoutMs: 2000,
        queries: { ...DEFAULT_PROMETHEUS_QUERIES, errors: 'sum(increase(model_requests_total{model="{{model}}",version="{{ version }}",error="true"}[{{window}}]))' },
      });
      expect(policy.providerFor('legacy')).toEqual({ kind: 'telemetry' });
    });

    it('fills the placeholders of a query', () => {
      expect(expandPrometheusQuery(DEFAULT_PROMETHEUS_QUERIES.latencyBuckets, { model: 'ranker', version: '2.0.0', window: '60s' })).toBe(
        'sum by (le) (increase(model_request_duration_seconds_bucket{model="ranker",version="2.0.0"}[60s]))',
      );
      expect(expandPrometheusQuery('up{v="{{ version }}"}', { model: 'ranker', version: '2.0.0', window: '60s' })).toBe('up{v="2.0.0"}');
    });

    it('names every problem of a Prometheus provider', () => {
      expect(
        problems({
          provider: {
            kind: 'prometheus',
            address: 'prometheus:9090',
            timeoutMs: 0,
            queries: { requests: '', errors: 'sum(errors{version="{{version}}",zone="{{zone}}"})', p99: 'x' },
            headers: {},
          },
          models: {
            ranker: { provider: { kind: 'prometheus', address: 'ftp://prometheus', queries: { latencyBuckets: 'sum by (le) (increase(duration_bucket[{{window}}]))' } } },
            broken: { provider: { kind: 'datadog' } },
            bare: { provider: { kind: 'prometheus', queries: [] } },
          },
        }),
      ).toEqual([
        'provider: unknown key "headers" (expected kind, address, queries, timeoutMs)',
        'provider.address must be the http(s) URL of the Prometheus server, such as "http://prometheus:9090"',
        'provider.timeoutMs must be a whole number of milliseconds from 1 to 60000',
        'provider.queries: unknown key "p99" (expected requests, errors, latencyBuckets)',
        'provider.queries.requests must be a non-empty PromQL template',
        'provider.queries.errors: unknown placeholder {{zone}} (expected {{model}}, {{version}}, {{window}})',
        'models.ranker.provider.address must be the http(s) URL of the Prometheus server, such as "http://prometheus:9090"',
        'models.ranker.provider.queries.latencyBuckets must select the version judged with {{version}}',
        'models.broken.provider must be an object whose "kind" is one of telemetry, prometheus',
        'models.bare.provider.address must be the http(s) URL of the Prometheus server, such as "http://prometheus:9090"',
        'models.bare.provider.queries must be an object of PromQL templates (requests, errors, latencyBuckets)',
      ]);
    });
  });
});
