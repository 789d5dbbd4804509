import type { EntityManager } from 'typeorm';
import { TransactionalEvent } from './transactional-event';

class Happened extends TransactionalEvent<{ id: number }> {}

describe('TransactionalEvent', () => {
  const tx = {} as EntityManager;

  it('runs every listener in subscription order, with the publisher’s transaction', async () => {
    const event = new Happened();
    const seen: string[] = [];
    event.subscribe(async (manager, { id }) => void seen.push(`first ${id} ${manager === tx}`));
    event.subscribe(async (manager, { id }) => void seen.push(`second ${id} ${manager === tx}`));
    await event.publish(tx, { id: 7 });
    expect(seen).toEqual(['first 7 true', 'second 7 true']);
  });

  it('stops at a listener that throws and rejects, so the publisher’s transaction rolls back', async () => {
    const event = new Happened();
    const seen: number[] = [];
    event.subscribe(async () => {
      throw new Error('listener failed');
    });
    event.subscribe(async (_tx, { id }) => void seen.push(id));
    await expect(event.publish(tx, { id: 1 })).rejects.toThrow('listener failed');
    expect(seen).toEqual([]);
  });
});
