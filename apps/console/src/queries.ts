import { useQuery } from '@tanstack/react-query';
import { getJson, modelPath } from './api';
import type { ModelStages } from './registry-types';

/** The versions holding a model's stages, shared by every view of them under one cache key. */
export function useStages(model: string) {
  return useQuery({ queryKey: ['stages', model], queryFn: () => getJson<ModelStages>(modelPath(model, 'stages')) });
}
