import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Task, VersionRef } from '../catalog.types';

export interface CommittedVersion extends VersionRef {
  id: string;
  task: Task;
  committedBy: string;
}

/** Runs inside the commit's transaction: whatever it writes commits or rolls back with the version. */
export type CommitListener = (tx: EntityManager, version: CommittedVersion) => Promise<void>;

/**
 * Lets feature libs that depend on the catalog (gates queues the registration
 * gate) act on a commit atomically, without the catalog depending on them.
 */
@Injectable()
export class VersionEvents {
  private readonly commitListeners: CommitListener[] = [];

  onCommitted(listener: CommitListener): void {
    this.commitListeners.push(listener);
  }

  async committed(tx: EntityManager, version: CommittedVersion): Promise<void> {
    for (const listener of this.commitListeners) await listener(tx, version);
  }
}
