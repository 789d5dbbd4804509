import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** Runs one use case in one transaction; repositories take the manager it hands out. */
@Injectable()
export class TransactionRunner {
  private readonly commitCallbacks = new WeakMap<EntityManager, (() => void)[]>();

  constructor(private readonly dataSource: DataSource) {}

  async run<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    const callbacks: (() => void)[] = [];
    const result = await this.dataSource.transaction('READ COMMITTED', (tx) => {
      this.commitCallbacks.set(tx, callbacks);
      return work(tx);
    });
    for (const callback of callbacks) callback();
    return result;
  }

  /**
   * Runs `callback` once `tx` has committed, never if it rolls back: for
   * dropping cached reads the transaction made stale. Callbacks must not throw.
   */
  afterCommit(tx: EntityManager, callback: () => void): void {
    const callbacks = this.commitCallbacks.get(tx);
    if (!callbacks) throw new Error('afterCommit needs a transaction from TransactionRunner.run');
    callbacks.push(callback);
  }

  /** For reads that need no transaction. */
  get manager(): EntityManager {
    return this.dataSource.manager;
  }
}
