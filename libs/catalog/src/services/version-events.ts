import { Injectable } from '@nestjs/common';
import { TransactionalEvent } from '@gatehouse/database';
import type { Task } from '@gatehouse/gate-engine';
import type { VersionRef } from '../catalog.types';

export interface CommittedVersion extends VersionRef {
  id: string;
  task: Task;
  committedBy: string;
}

/** Published in a version's commit transaction: gates queues the registration gate in it, without the catalog depending on gates. */
@Injectable()
export class VersionCommitted extends TransactionalEvent<CommittedVersion> {}
