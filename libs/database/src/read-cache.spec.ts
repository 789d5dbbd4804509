import { ReadCache } from './read-cache';

describe('ReadCache', () => {
  let clock: number;
  let cache: ReadCache<string, number>;
  let loads: number;
  const load = (value: number) => () => {
    loads++;
    return Promise.resolve(value);
  };

  beforeEach(() => {
    clock = 0;
    loads = 0;
    cache = new ReadCache<string, number>(1000, 2, () => clock);
  });

  it('keeps a value for its time to live, then loads again', async () => {
    expect(await cache.get('a', load(1))).toBe(1);
    clock = 999;
    expect(await cache.get('a', load(2))).toBe(1);
    clock = 1000;
    expect(await cache.get('a', load(3))).toBe(3);
    expect(loads).toBe(2);
  });

  it('shares one load between concurrent misses', async () => {
    let finish!: (value: number) => void;
    const slow = () => {
      loads++;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const both = Promise.all([cache.get('a', slow), cache.get('a', slow)]);
    finish(7);
    expect(await both).toEqual([7, 7]);
    expect(loads).toBe(1);
  });

  it('never keeps a load that was under way when it was invalidated', async () => {
    let finish!: (value: number) => void;
    const before = cache.get('a', () => new Promise<number>((resolve) => (finish = resolve)));
    cache.invalidate();
    finish(1);
    expect(await before).toBe(1);
    expect(await cache.get('a', load(2))).toBe(2);
  });

  it('peeks at loaded, fresh values only', async () => {
    let finish!: (value: number) => void;
    const pending = cache.get('a', () => new Promise<number>((resolve) => (finish = resolve)));
    expect(cache.peek('a')).toBeUndefined();
    finish(5);
    await pending;
    expect(cache.peek('a')).toEqual({ value: 5 });
    clock = 1000;
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBeUndefined();
  });

  it('does not keep a failed load', async () => {
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', load(4))).toBe(4);
  });

  it('drops the oldest key when full', async () => {
    await cache.get('a', load(1));
    await cache.get('b', load(2));
    await cache.get('c', load(3));
    expect(await cache.get('b', load(20))).toBe(2);
    expect(await cache.get('a', load(10))).toBe(10);
  });
});
