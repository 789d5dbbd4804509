import { applyTagPatch, MAX_TAG_VALUE_LENGTH, MAX_TAGS_PER_VERSION, parseTagFilter, tagProblem } from './version-tags';

describe('version tags', () => {
  it('accepts keys and values MLflow clients write, and names what is wrong otherwise', () => {
    expect(tagProblem({ team: 'risk', 'mlflow.source.git.commit': 'abc123', 'runtime/target': 'browser' }, { patch: false })).toBeUndefined();
    expect(tagProblem({ '-dash': 'x' }, { patch: false })).toMatch(/^tag "-dash": a tag key is 1-128 characters/);
    expect(tagProblem({ 'with space': 'x' }, { patch: false })).toMatch(/tag "with space"/);
    expect(tagProblem({ team: 3 }, { patch: false })).toBe('tag "team" must be text');
    expect(tagProblem({ team: null }, { patch: false })).toBe('tag "team" must be text');
    expect(tagProblem({ team: null }, { patch: true })).toBeUndefined();
    expect(tagProblem({ team: 3 }, { patch: true })).toBe('tag "team" must be text, or null to remove it');
    expect(tagProblem({ long: 'x'.repeat(MAX_TAG_VALUE_LENGTH + 1) }, { patch: false })).toMatch(/longer than 5000/);
    expect(tagProblem(Object.fromEntries(Array.from({ length: MAX_TAGS_PER_VERSION + 1 }, (_, i) => [`k${i}`, 'v'])), { patch: false })).toMatch(/at most 100/);
    expect(tagProblem(['team'], { patch: false })).toMatch(/must be an object/);
    expect(tagProblem(null, { patch: true })).toMatch(/must be an object/);
  });

  it('merges a patch: values set, null removes, and only real changes are reported', () => {
    const { tags, changes } = applyTagPatch({ team: 'risk', stage: 'beta', keep: 'same' }, { team: 'fraud', stage: null, keep: 'same', added: 'yes', absent: null });
    expect(tags).toEqual({ team: 'fraud', keep: 'same', added: 'yes' });
    expect(changes).toEqual({ team: { from: 'risk', to: 'fraud' }, stage: { from: 'beta', to: null }, added: { from: null, to: 'yes' } });
  });

  it('reads key=value and bare key filters, values keeping any further "="', () => {
    expect(parseTagFilter('team=risk')).toEqual({ key: 'team', value: 'risk' });
    expect(parseTagFilter('query=a=b')).toEqual({ key: 'query', value: 'a=b' });
    expect(parseTagFilter('reviewed')).toEqual({ key: 'reviewed' });
    expect(parseTagFilter('empty=')).toEqual({ key: 'empty', value: '' });
  });
});
