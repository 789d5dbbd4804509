import type { EntityManager } from 'typeorm';

/** Runs inside the publisher's transaction: what it writes commits or rolls back with the event. */
export type TransactionalListener<T> = (tx: EntityManager, event: T) => Promise<void>;

/**
 * An event published inside a transaction to listeners registered by libs
 * that depend on the publisher, so a lower lib can have higher ones act on
 * its writes atomically without depending on them. A listener that throws
 * rolls the publisher's transaction back. A lib declares each event as an
 * injectable subclass, e.g. `class VersionCommitted extends TransactionalEvent<CommittedVersion> {}`.
 */
export abstract class TransactionalEvent<T> {
  private readonly listeners: TransactionalListener<T>[] = [];

  subscribe(listener: TransactionalListener<T>): void {
    this.listeners.push(listener);
  }

  async publish(tx: EntityManager, event: T): Promise<void> {
    for (const listener of this.listeners) await listener(tx, event);
  }
}
