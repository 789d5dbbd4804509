import { Injectable } from '@nestjs/common';
import type { LineageResponse } from '../dto/version-response.dto';
import { VersionRepository } from '../repositories/version.repository';
import { StageService } from './stage.service';
import { VersionService } from './version.service';

const DEFAULT_DEPTH = 10;

@Injectable()
export class LineageService {
  constructor(
    private readonly versions: VersionRepository,
    private readonly versionService: VersionService,
    private readonly stages: StageService,
  ) {}

  /** Ancestors and/or descendants within `depth` edges, with their edges and datasets: four queries whatever the size. */
  async lineage(modelName: string, versionName: string, direction: 'up' | 'down' | 'both' = 'both', depth = DEFAULT_DEPTH): Promise<LineageResponse> {
    const version = await this.versionService.lookup(modelName, versionName);
    const nodes = await this.versions.lineageNodes(version.id, direction, depth);
    const ids = nodes.map((node) => node.id);
    const [edges, datasets, histories] = await Promise.all([this.versions.lineageEdges(ids), this.versions.lineageDatasets(ids), this.stages.versionHistories(ids)]);
    return {
      root: { model: modelName, version: versionName },
      direction,
      depth,
      nodes: nodes.map((node) => ({
        model: node.model,
        version: node.version,
        status: node.status,
        stage: node.stage,
        task: node.task,
        relation: node.relation,
        distance: Number(node.distance),
        createdBy: node.createdBy,
        createdAt: new Date(node.createdAt).toISOString(),
        stageHistory: histories.get(node.id) ?? [],
      })),
      edges: edges.map((edge) => ({
        child: { model: edge.childModel, version: edge.childVersion },
        parent: { model: edge.parentModel, version: edge.parentVersion },
        relation: edge.relation,
      })),
      datasets: datasets.map(({ model, modelVersion, ...dataset }) => ({ ...dataset, usedBy: { model, version: modelVersion } })),
    };
  }
}
