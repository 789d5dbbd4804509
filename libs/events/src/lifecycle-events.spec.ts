import { EVENT_PATTERNS_HELP, isLifecycleEvent, LIFECYCLE_EVENTS, matchesEventFilter, unknownEventPatterns } from './lifecycle-events';

describe('lifecycle events', () => {
  it('are the listed audit actions and every analysis.* and alert.* action, nothing else', () => {
    for (const name of LIFECYCLE_EVENTS) expect(isLifecycleEvent(name)).toBe(true);
    for (const name of ['analysis.step_passed', 'analysis.rolled_back', 'alert.raised', 'alert.resolved']) expect(isLifecycleEvent(name)).toBe(true);
    for (const name of [
      'model.created',
      'version.declared',
      'version.file_uploaded',
      'gate.queued',
      'promotion.requested',
      'token.minted',
      'webhook.created',
      'webhook.test',
      'analysis',
      'alerts.raised',
    ]) {
      expect(isLifecycleEvent(name)).toBe(false);
    }
  });

  it('accept names, family prefixes and * in a filter, and name the patterns that match nothing', () => {
    expect(unknownEventPatterns(['*', 'gate.*', 'version.committed', 'alert.raised', 'analysis.*', 'stage.*'])).toEqual([]);
    expect(unknownEventPatterns(['gate.passd', 'model.*', 'model.created', 'webhook.test', 'gate', 'alert.', '', '**', 'gate.**'])).toEqual([
      'gate.passd',
      'model.*',
      'model.created',
      'webhook.test',
      'gate',
      'alert.',
      '',
      '**',
      'gate.**',
    ]);
    expect(EVENT_PATTERNS_HELP).toContain('version.committed');
    expect(EVENT_PATTERNS_HELP).toContain('gate.*');
    expect(EVENT_PATTERNS_HELP).toContain('alert.<name>');
  });

  it('match an event by its exact name, its family or *', () => {
    expect(matchesEventFilter(['*'], 'gate.failed')).toBe(true);
    expect(matchesEventFilter(['gate.*'], 'gate.failed')).toBe(true);
    expect(matchesEventFilter(['gate.*'], 'gateway.failed')).toBe(false);
    expect(matchesEventFilter(['gate.passed'], 'gate.failed')).toBe(false);
    expect(matchesEventFilter(['version.committed', 'alert.*'], 'alert.raised')).toBe(true);
    expect(matchesEventFilter(['promotion.completed'], 'promotion.completed')).toBe(true);
    expect(matchesEventFilter([], 'promotion.completed')).toBe(false);
  });
});
