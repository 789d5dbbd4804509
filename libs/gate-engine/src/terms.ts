import type { TensorSpec } from '@gatehouse/onnx';

/** The stages a gate admits a version to: registered (on commit), then the serving stages. */
export const GATE_STAGES = ['registered', 'staging', 'canary', 'production'] as const;
export type GateStage = (typeof GATE_STAGES)[number];

/** What a model does: it decides which checks and metrics apply. */
export const TASKS = ['classification', 'regression', 'generative', 'other'] as const;
export type Task = (typeof TASKS)[number];

/** What a version uses a dataset for; `example` holds input examples, complete feeds the gates run the model on. */
export const DATASET_ROLES = ['training', 'validation', 'evaluation', 'reference', 'example'] as const;
export type DatasetRole = (typeof DATASET_ROLES)[number];

export type Severity = 'critical' | 'warning';

/** A model's inputs and outputs, as the registrant declares them, in the terms onnxruntime describes the model's. */
export interface IoSchema {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Where a version's schema came from: the registrant, or the model's own graph when the registrant declared none. */
export const SCHEMA_SOURCES = ['declared', 'inferred'] as const;
export type SchemaSource = (typeof SCHEMA_SOURCES)[number];

/** A version's schema and its source, or, with nothing declared, why the model's graph gives none (a sequence output, a tensor without a shape). */
export type VersionSchema = { source: SchemaSource; schema: IoSchema } | { source: null; unreadable: string[] };
