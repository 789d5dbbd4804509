import { DomainError } from '@gatehouse/errors';
import type { VersionRef } from './catalog.types';

const ref = (r: VersionRef) => `${r.model}@${r.version}`;

export class ModelNotFoundError extends DomainError {
  constructor(name: string) {
    super('not_found', 'model_not_found', `model "${name}" does not exist`);
  }
}

export class ModelExistsError extends DomainError {
  constructor(name: string) {
    super('conflict', 'model_exists', `model "${name}" already exists`);
  }
}

export class VersionNotFoundError extends DomainError {
  constructor(version: VersionRef) {
    super('not_found', 'version_not_found', `version ${ref(version)} does not exist`);
  }
}

export class VersionExistsError extends DomainError {
  constructor(version: VersionRef) {
    super('conflict', 'version_exists', `version ${ref(version)} already exists`);
  }
}

export class InvalidVersionError extends DomainError {
  constructor(version: string) {
    super('invalid', 'invalid_version', `"${version}" is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])`, {
      fields: [{ field: 'version', errors: ['version must be a semantic version such as 1.4.0 or 2.0.0-rc.1'] }],
    });
  }
}

export class VersionSealedError extends DomainError {
  constructor(version: VersionRef, status: string) {
    super('conflict', 'version_already_committed', `version ${ref(version)} is committed (status ${status}) and immutable`);
  }
}

export class VersionNotCommittedError extends DomainError {
  constructor(version: VersionRef) {
    super('conflict', 'version_not_committed', `version ${ref(version)} is not committed yet: commit it with {"signature": <bundle>} instead`);
  }
}

export class VersionAlreadySignedError extends DomainError {
  constructor(version: VersionRef, signer: string) {
    super('conflict', 'already_signed', `version ${ref(version)} is already signed by ${signer}, and that signature still holds; a version carries one signature`, { signer });
  }
}

export class VersionHasNoFilesError extends DomainError {
  constructor(version: VersionRef) {
    super('conflict', 'version_has_no_files', `version ${ref(version)} has no files; upload at least one before committing`);
  }
}

export class FileNotFoundError extends DomainError {
  constructor(version: VersionRef, path: string) {
    super('not_found', 'file_not_found', `version ${ref(version)} has no file "${path}"`);
  }
}

export class UnsafePathError extends DomainError {
  constructor(path: string, reason: string) {
    super('invalid', 'unsafe_path', `file path ${JSON.stringify(path)} is not allowed: ${reason}`);
  }
}

export class PathConflictError extends DomainError {
  constructor(path: string, existing: string) {
    super(
      'invalid',
      'file_path_conflict',
      `file path ${JSON.stringify(path)} is not allowed: ${JSON.stringify(existing)} is already a file of this version, and one is a directory of the other, ` +
        'which no disk can hold; rename one of them',
      { path, conflictsWith: existing },
    );
  }
}

export class ParentNotFoundError extends DomainError {
  constructor(parent: VersionRef) {
    super('not_found', 'parent_not_found', `parent version ${ref(parent)} does not exist`, { parent });
  }
}

export class ParentNotCommittedError extends DomainError {
  constructor(parent: VersionRef) {
    super('conflict', 'parent_not_committed', `parent version ${ref(parent)} is still uploading; commit it first`, {
      parent,
    });
  }
}

export class DuplicateReferenceError extends DomainError {
  constructor(field: string, what: string) {
    super('invalid', 'duplicate_reference', `${field} lists ${what} more than once`, {
      fields: [{ field, errors: [`${what} is listed more than once`] }],
    });
  }
}

export class DatasetNotFoundError extends DomainError {
  constructor(name: string, version: string) {
    super('not_found', 'dataset_not_found', `dataset ${name}@${version} does not exist`);
  }
}

export class DatasetExistsError extends DomainError {
  constructor(name: string, version: string) {
    super('conflict', 'dataset_exists', `dataset ${name}@${version} already exists`);
  }
}

export class DatasetWithoutChecksumError extends DomainError {
  constructor(name: string, version: string) {
    super('conflict', 'dataset_without_checksum', `dataset ${name}@${version} has no checksum yet: declare its sha256 or upload its file first`);
  }
}

export class DatasetFileExistsError extends DomainError {
  constructor(name: string, version: string) {
    super('conflict', 'dataset_file_exists', `dataset ${name}@${version} already has its file; datasets are immutable`);
  }
}

export class DatasetNotStoredError extends DomainError {
  constructor(name: string, version: string) {
    super('not_found', 'dataset_not_stored', `dataset ${name}@${version} has no uploaded file`);
  }
}

/** A field a PATCH may not change: `advice` says what to do instead. */
export class FieldImmutableError extends DomainError {
  constructor(subject: string, field: string, advice: string) {
    super('conflict', 'field_immutable', `${field} of ${subject} cannot change: ${advice}`, { field });
  }
}

export class VersionTagNotFoundError extends DomainError {
  constructor(version: VersionRef, key: string) {
    super('not_found', 'tag_not_found', `version ${ref(version)} has no tag "${key}"`, { key });
  }
}

export class AliasNotFoundError extends DomainError {
  constructor(model: string, alias: string) {
    super('not_found', 'alias_not_found', `model "${model}" has no alias "${alias}"`, { alias });
  }
}

export class AliasTargetNotCommittedError extends DomainError {
  constructor(model: string, alias: string, version: string) {
    super('conflict', 'alias_target_not_committed', `${model}@${version} is still pending upload: commit it before pointing "${alias}" at it`, { alias, version });
  }
}

/** Names the roles the policy gives this alias, so the refusal says who can move it. */
export class AliasRoleRequiredError extends DomainError {
  constructor(alias: string, rule: { roles: readonly string[]; protected: boolean }) {
    const allowed = rule.protected ? rule.roles : [...new Set(['admin', ...rule.roles])];
    const message = rule.protected
      ? `alias "${alias}" is protected by the promotion policy: only the roles ${allowed.join(', ')} may move it`
      : `moving alias "${alias}" needs one of the roles: ${allowed.join(', ')}`;
    super('forbidden', 'role_required', message, { alias, allowed, protected: rule.protected });
  }
}

export class DatasetInUseError extends DomainError {
  constructor(name: string, version: string, users: string[]) {
    super(
      'conflict',
      'dataset_in_use',
      `dataset ${name}@${version} is named by ${users.join(', ')}${users.length >= 10 ? ' and perhaps more' : ''}: a dataset that versions use stays, as their lineage`,
      {
        versions: users,
      },
    );
  }
}

export class VersionNotAbandonableError extends DomainError {
  constructor(version: VersionRef, status: string) {
    super(
      'conflict',
      'version_committed',
      `version ${ref(version)} is committed (status ${status}): only a version still pending upload can be abandoned; a committed one stays, as lineage, audit and gate history refer to it`,
      { status },
    );
  }
}
