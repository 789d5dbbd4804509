import { nameFlags } from './flag-names';

const REGISTER = { version: '--version', 'source.commit': '--commit', parents: '--parent' };

describe('nameFlags', () => {
  it("names a domain error's field by the flag, in its entry and in the message", () => {
    const refused = 'a canary needs trafficPercent, from 1 to 100';
    expect(nameFlags(refused, [{ field: 'trafficPercent', errors: [refused] }], { trafficPercent: '--traffic', stage: '--to' })).toEqual({
      message: 'a canary needs --traffic, from 1 to 100',
      fields: [{ field: '--traffic', errors: ['a canary needs --traffic, from 1 to 100'] }],
    });
  });

  it("renames a validation message's path and the property it starts with, and no other word", () => {
    const fields = [
      { field: 'source.commit', errors: ['commit must be a 7-64 character hex commit id'] },
      { field: 'version', errors: ['version must be a semantic version such as 1.2.0'] },
    ];
    const message = 'invalid request: source.commit: commit must be a 7-64 character hex commit id | version: version must be a semantic version such as 1.2.0';
    expect(nameFlags(message, fields, REGISTER)).toEqual({
      message: 'invalid request: --commit: --commit must be a 7-64 character hex commit id | --version: --version must be a semantic version such as 1.2.0',
      fields: [
        { field: '--commit', errors: ['--commit must be a 7-64 character hex commit id'] },
        { field: '--version', errors: ['--version must be a semantic version such as 1.2.0'] },
      ],
    });
  });

  it("names an item of a repeated flag's list by its place, and leaves fields no flag gave as they are", () => {
    const fields = [
      { field: 'parents.1.relation', errors: ['relation must be a lowercase word such as fine_tuned_from'] },
      { field: 'task', errors: ['task must be one of the following values: classification, regression'] },
    ];
    const message = `invalid request: ${fields.map((field) => `${field.field}: ${field.errors[0]}`).join(' | ')}`;
    expect(nameFlags(message, fields, REGISTER)).toEqual({
      message:
        'invalid request: --parent #2 relation: relation must be a lowercase word such as fine_tuned_from | task: task must be one of the following values: classification, regression',
      fields: [{ field: '--parent #2 relation', errors: fields[0].errors }, fields[1]],
    });
  });
});
