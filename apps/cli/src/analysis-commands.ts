import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { AnalysisRun, JudgedInterval } from './api-types';
import { ExitError, type CommandContext } from './command-context';
import { apiPath, withQuery, type GatehouseClient } from './gatehouse-client';
import { formatFields, formatTable } from './output';
import { parseVersionRef } from './references';

/** How often `analysis show --watch` asks again: an interval is judged at most once a telemetry window, a second or more. */
const WATCH_INTERVAL_MS = 1500;
/** Moves a terminal's cursor home and clears the screen, so that each view replaces the last. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/** analysis list, show (--watch), resume and abort: canary analyses. */
export function addAnalysisCommands(program: Command, { client, print, io, globals }: CommandContext): void {
  const analysis = program.command('analysis').description('canary analyses: each interval of a canary judged against production, and what the schedule did');
  analysis
    .command('list')
    .description("a model's canary analyses, newest first")
    .argument('<model>')
    .option('--limit <n>', 'page size', '20')
    .option('--all', 'follow every page')
    .action(async (model: string, options: { limit: string; all?: boolean }) => {
      const runs = await (await client()).list<AnalysisRun>(`/v1/models/${apiPath(model)}/analysis-runs`, { limit: options.limit }, !!options.all);
      print(runs, () =>
        formatTable(
          ['ID', 'CANARY', 'BASELINE', 'STATUS', 'STEP', 'TRAFFIC', 'FAILURES', 'INCONCLUSIVES', 'STARTED'],
          runs.map((run) => [run.id, run.version, run.baselineVersion, run.status, stepOf(run), `${run.trafficPercent}%`, run.failures, run.inconclusives, run.startedAt]),
        ),
      );
    });

  analysis
    .command('show')
    .description(
      'an analysis and every interval judged so far; with --watch, a view redrawn every 1.5 s while it runs, ' +
        'then exit 0 if it passed, 1 if it was rolled back, aborted, paused or cancelled (with --json, only the final state is printed)',
    )
    .argument('<id|model@version>', "an analysis's id, or a version: its newest analysis")
    .option('--watch', 'follow the analysis until it is no longer running; the exit code says how it ended')
    .action(async (reference: string, options: { watch?: boolean }) => {
      const api = await client();
      const id = await analysisIdOf(api, reference);
      if (!options.watch) {
        const run = await judgedRun(api, id);
        print(run, () => describeRun(run));
        return;
      }
      const json = globals().json;
      const terminal = (io.stdout as { isTTY?: boolean }).isTTY === true;
      const run = await watchRun(api, id, json ? undefined : { write: (text) => io.stdout.write(text), terminal });
      // Under --json the watch showed nothing: the final state is the output.
      if (json) print(run, () => describeRun(run));
      if (run.status !== 'passed') throw new ExitError(1, howItEnded(run));
    });

  analysis
    .command('start')
    .description("analyse the model's canary again, against the version in production now (after its analysis was cancelled, or passed against a production since replaced)")
    .argument('<model>')
    .action(async (model: string) => {
      const run = await (await client()).post<AnalysisRun>(`/v1/models/${apiPath(model)}/analysis-runs`);
      print(
        run,
        () =>
          `analysis ${run.id} of ${run.model}@${run.version} against production ${run.model}@${run.baselineVersion} started at step ${stepOf(run)} (${run.trafficPercent}% of keys)\n`,
      );
    });

  analysis
    .command('resume')
    .description('resume a paused analysis where it was: its inconclusive count starts again from 0')
    .argument('<id|model@version>', "an analysis's id, or a version: its newest analysis")
    .action(async (reference: string) => {
      const api = await client();
      const run = await api.post<AnalysisRun>(`/v1/analysis-runs/${apiPath(await analysisIdOf(api, reference))}/resume`);
      print(run, () => `analysis ${run.id} of ${run.model}@${run.version} is running again at step ${stepOf(run)} (${run.trafficPercent}% of keys)\n`);
    });

  analysis
    .command('abort')
    .description('stop a running or paused analysis and take its canary out: production serves every request')
    .argument('<id|model@version>', "an analysis's id, or a version: its newest analysis")
    .requiredOption('--reason <text>', 'why, for the audit log')
    .action(async (reference: string, options: { reason: string }) => {
      const api = await client();
      const run = await api.post<AnalysisRun>(`/v1/analysis-runs/${apiPath(await analysisIdOf(api, reference))}/abort`, { reason: options.reason }, { reason: '--reason' });
      print(run, () => `analysis ${run.id} aborted; ${run.model}@${run.version} is no longer the canary\n`);
    });
}

/** The id as given, or for `model@version` the id of that version's newest analysis. */
async function analysisIdOf(api: GatehouseClient, reference: string): Promise<string> {
  if (!reference.includes('@')) return reference;
  const { model, version } = parseVersionRef(reference);
  const [newest] = (await api.get<{ items: AnalysisRun[] }>(withQuery(`/v1/models/${apiPath(model)}/analysis-runs`, { version, limit: '1' }))).items;
  if (!newest) throw new ExitError(1, `${reference} has had no canary analysis: promoting it to canary while another version is in production starts one`);
  return newest.id;
}

const judgedRun = (api: GatehouseClient, id: string) => api.get<AnalysisRun>(`/v1/analysis-runs/${apiPath(id)}`);

/** Where a watch shows each state, and whether it is a terminal, whose screen can be redrawn. */
interface WatchOutput {
  write: (text: string) => void;
  terminal: boolean;
}

/**
 * Follows a run until it is no longer running, showing its states on
 * `output` (none under --json): on a terminal every poll redraws the screen;
 * elsewhere (a pipe, a CI log) each state that changed is written after the last.
 */
async function watchRun(api: GatehouseClient, id: string, output: WatchOutput | undefined): Promise<AnalysisRun> {
  let shown: string | undefined;
  for (;;) {
    const run = await judgedRun(api, id);
    const view = describeRun(run);
    if (output?.terminal) {
      const footer = run.status === 'running' ? `watching; updated ${new Date().toLocaleTimeString()} (Ctrl-C stops watching)` : howItEnded(run);
      output.write(`${CLEAR_SCREEN}${view}\n${footer}\n`);
    } else if (output && view !== shown) output.write(shown === undefined ? view : `\n${view}`);
    shown = view;
    if (run.status !== 'running') return run;
    await sleep(WATCH_INTERVAL_MS);
  }
}

/** Why a run is no longer running, and what a person can do about it. */
function howItEnded(run: AnalysisRun): string {
  const reason = run.outcome?.reason ? `: ${run.outcome.reason}` : '';
  switch (run.status) {
    case 'passed':
      return `analysis ${run.id} passed: ${run.model}@${run.version} may be promoted to production`;
    case 'paused':
      return `analysis ${run.id} is paused after ${run.inconclusives} inconclusive intervals; gatehouse analysis resume ${run.id} goes on, gatehouse analysis abort ${run.id} --reason TEXT takes the canary out`;
    case 'rolled_back':
      return `analysis ${run.id} rolled the canary ${run.model}@${run.version} back${reason}`;
    case 'aborted':
      return `analysis ${run.id} was aborted${run.outcome?.by ? ` by ${run.outcome.by}` : ''}${reason}`;
    case 'cancelled':
      return `analysis ${run.id} was cancelled${reason}`;
    default:
      return `analysis ${run.id} is ${run.status}`;
  }
}

function describeRun(run: AnalysisRun): string {
  const { policy } = run;
  const fields = formatFields([
    ['analysis', run.id],
    ['canary', `${run.model}@${run.version} against production ${run.model}@${run.baselineVersion}`],
    ['status', run.nextIntervalAt ? `${run.status} (next interval ends ${run.nextIntervalAt})` : run.status],
    [
      'step',
      `${stepOf(run)} of ${run.steps.map((percent) => `${percent}%`).join(', ')}; ${run.passedInStep} passed in this step (${policy.bakeSeconds} s bake, ${policy.intervalSeconds} s intervals)`,
    ],
    ['traffic', `${run.trafficPercent}%`],
    ['failures', `${run.failures} (rolls back at ${policy.failureLimit})`],
    ['inconclusives', `${run.inconclusives} (pauses at ${policy.inconclusiveLimit})`],
    ['started', `${run.startedAt} by ${run.startedBy}`],
    ['finished', run.finishedAt],
    ['outcome', run.outcome ? [run.outcome.reason, run.outcome.by && `by ${run.outcome.by}`].filter(Boolean).join(' ') : null],
  ]);
  const judged = run.judged ?? [];
  if (judged.length === 0) return `${fields}\nno interval judged yet\n`;
  const intervals = formatTable(
    ['#', 'STEP', 'TRAFFIC', 'WINDOW', 'VERDICT', 'ACTION', 'METRICS'],
    judged.map((interval) => [interval.number, interval.step + 1, `${interval.trafficPercent}%`, windowOf(interval), interval.verdict, interval.action, metricsOf(interval)]),
  );
  return `${fields}\n${intervals}`;
}

/** `1/3`: the step the run is at, counted from 1. */
const stepOf = (run: AnalysisRun) => `${run.step + 1}/${run.steps.length}`;

/** `2026-12-04T19:40:00Z → 19:41:00Z`: intervals are minutes long, so the end's date is the start's. */
function windowOf(interval: JudgedInterval): string {
  const start = interval.windowStart.replace(/\.000Z$/, 'Z');
  const end = interval.windowEnd.replace(/\.000Z$/, 'Z');
  return end.slice(0, 10) === start.slice(0, 10) ? `${start} → ${end.slice(11)}` : `${start} → ${end}`;
}

/**
 * Each metric as `latency pass (not_significant)`, a failure with canary
 * against production as `error_rate fail (more_errors: 0.1 vs 0.05)`; the
 * metrics without data are listed after them by name only, as they are many
 * where a model has no reference dataset or labels. An interval whose metric
 * source did not answer has no metrics, only its problem.
 */
function metricsOf(interval: JudgedInterval): string {
  if (interval.problem) return `not judged: ${interval.problem}`;
  const judged = interval.metrics
    .filter((metric) => metric.reason !== 'no_data')
    .map((metric) => {
      const values = metric.verdict === 'fail' && metric.canary !== null && metric.baseline !== null ? `: ${round(metric.canary)} vs ${round(metric.baseline)}` : '';
      return `${metric.metric} ${metric.verdict} (${metric.reason}${values})`;
    });
  const withoutData = interval.metrics.filter((metric) => metric.reason === 'no_data').map((metric) => metric.metric);
  return [judged.join(', '), withoutData.length > 0 ? `no data: ${withoutData.join(', ')}` : ''].filter(Boolean).join('; ');
}

const round = (value: number) => Number(value.toPrecision(3));
