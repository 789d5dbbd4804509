import { Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/auth';
import { ModelService, type ModelScanAllowancesResponse } from '@gatehouse/catalog';
import type { ChangeScanAllowancesDto } from './dto/scan-allowances.dto';
import { ScanAllowanceRefusedError } from './errors';
import { checkScanAllowances } from './scan-allowances';

/**
 * What one model's artifact scan allows beyond the gate policy. Checked here,
 * by the scan's own rules, and stored with the model; gate runs queued from
 * then on carry them, and the versions they change the verdict of are
 * re-scanned at the next start or `POST /v1/admin/rescan`.
 */
@Injectable()
export class ScanAllowanceService {
  constructor(private readonly models: ModelService) {}

  get(model: string): Promise<ModelScanAllowancesResponse> {
    return this.models.scanAllowances(model);
  }

  change(actor: Principal, model: string, request: ChangeScanAllowancesDto): Promise<ModelScanAllowancesResponse> {
    const checked = checkScanAllowances(request);
    if (checked.problems) throw new ScanAllowanceRefusedError(checked.problems);
    return this.models.changeScanAllowances(actor, model, checked.rules, request.reason.trim());
  }
}
