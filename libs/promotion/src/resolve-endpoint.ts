import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokenService } from '@gatehouse/auth';
import type { ResolveResponse } from './dto/promotion.dto';
import { ServingService } from './serving.service';

/** The controller route's template (`GET v1/models/:name/resolve`): requests answered here are counted under it too. */
export const RESOLVE_ROUTE = '/v1/models/:name/resolve';
const RESOLVE_PATH = /^\/v1\/models\/([^/?]+)\/resolve(?:\?(.*))?$/;
const MAX_KEY_LENGTH = 1000;

interface ResolveRequest {
  token: string;
  model: string;
  key: string | undefined;
}

/** What became of a request offered to the endpoint. */
export interface ResolveHandlers {
  /** Answered; `actor` is the token's name. */
  answered(actor: string): void;
  /** Not answered: the controller route's to answer, with its usual error if it is one. */
  declined(): void;
}

/**
 * `GET /v1/models/{name}/resolve` answered on node:http ahead of Express and
 * Nest's pipeline: resolve sits on the path of every prediction, and that
 * pipeline costs an order of magnitude more than the answer (README,
 * bench/resolve). Same token check and same answer as the controller route,
 * in the same tick when the token and the pointers are cached. Only the
 * success path is answered here; anything else (no or bad token, an unknown
 * model, nothing serving, a query the route would refuse) is declined.
 */
@Injectable()
export class ResolveEndpoint {
  constructor(
    private readonly tokens: TokenService,
    private readonly serving: ServingService,
  ) {}

  handle(request: IncomingMessage, response: ServerResponse, handlers: ResolveHandlers): void {
    const parsed = parse(request);
    if (!parsed) return handlers.declined();
    const cached = this.cachedAnswer(parsed);
    if (cached) return send(response, cached, handlers);
    this.loadedAnswer(parsed).then(
      (answer) => send(response, answer, handlers),
      () => handlers.declined(),
    );
  }

  private cachedAnswer(request: ResolveRequest): { actor: string; body: ResolveResponse } | undefined {
    const principal = this.tokens.cachedPrincipal(request.token);
    try {
      const body = principal && this.serving.resolveCached(request.model, request.key);
      return body && { actor: principal.name, body };
    } catch {
      return undefined;
    }
  }

  private async loadedAnswer(request: ResolveRequest): Promise<{ actor: string; body: ResolveResponse }> {
    const principal = await this.tokens.authenticate(request.token);
    return { actor: principal.name, body: await this.serving.resolve(request.model, request.key) };
  }
}

function parse(request: IncomingMessage): ResolveRequest | undefined {
  if (request.method !== 'GET') return undefined;
  const match = RESOLVE_PATH.exec(request.url ?? '');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match || !bearer) return undefined;
  const query = new URLSearchParams(match[2] ?? '');
  const params = [...query.keys()];
  if (params.length > 1 || (params.length === 1 && params[0] !== 'key')) return undefined;
  const key = query.get('key') ?? undefined;
  if (key !== undefined && key.length > MAX_KEY_LENGTH) return undefined;
  try {
    return { token: bearer[1], model: decodeURIComponent(match[1]), key };
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, answer: { actor: string; body: ResolveResponse }, handlers: ResolveHandlers): void {
  const body = JSON.stringify(answer.body);
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
  handlers.answered(answer.actor);
}
