import { stepsFrom } from './traffic-steps';

describe('stepsFrom', () => {
  it("starts at the canary's requested share and keeps the policy's larger steps", () => {
    expect(stepsFrom([5, 25, 50], 5)).toEqual([5, 25, 50]);
    expect(stepsFrom([5, 25, 50], 10)).toEqual([10, 25, 50]);
    expect(stepsFrom([5, 25, 50], 25)).toEqual([25, 50]);
    expect(stepsFrom([5, 25, 50], 80)).toEqual([80]);
    expect(stepsFrom([5, 25, 50], null)).toEqual([5, 25, 50]);
  });
});
