import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ApiError, GatehouseClient } from './gatehouse-client';

describe('GatehouseClient', () => {
  let server: Server;
  let client: GatehouseClient;
  beforeAll(async () => {
    // A real HTTP server standing in for the registry's error answers.
    server = createServer((request, response) => {
      if (request.url === '/conflict') {
        response.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 409, error: 'model_exists', message: 'model "m" already exists' }));
      } else if (request.url === '/invalid') {
        const message = 'a canary needs trafficPercent, from 1 to 100';
        response
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ statusCode: 400, error: 'invalid_traffic_percent', message, details: { fields: [{ field: 'trafficPercent', errors: [message] }] } }));
      } else if (request.url === '/proxy') {
        response.writeHead(502).end('Bad Gateway');
      } else {
        request.resume();
        request.on('end', () => response.writeHead(201, { 'content-type': 'application/json' }).end('{}'));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new GatehouseClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'gh_test');
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('turns an error body into an ApiError with its code', async () => {
    await expect(client.post('/conflict', {})).rejects.toMatchObject({ status: 409, code: 'model_exists', message: 'model "m" already exists' });
  });

  it('names the flags a refused request took its fields from', async () => {
    await expect(client.post('/invalid', { trafficPercent: 0 }, { trafficPercent: '--traffic' })).rejects.toMatchObject({
      code: 'invalid_traffic_percent',
      message: 'a canary needs --traffic, from 1 to 100',
      details: { fields: [{ field: '--traffic', errors: ['a canary needs --traffic, from 1 to 100'] }] },
    });
    await expect(client.post('/invalid', { trafficPercent: 0 })).rejects.toMatchObject({ message: 'a canary needs trafficPercent, from 1 to 100' });
  });

  it("names the status when the body is not the registry's JSON", async () => {
    await expect(client.get('/proxy')).rejects.toMatchObject({ status: 502, code: 'http_502', message: 'Bad Gateway' });
  });

  it('fails an upload with the read error of its body, not as an unreachable registry', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1024));
    setTimeout(() => body.destroy(new Error('EIO: i/o error, read')), 20);
    const upload = client.upload('/upload', body, { 'content-length': '4096' });
    await expect(upload).rejects.toThrow('EIO: i/o error, read');
    await expect(upload).rejects.not.toBeInstanceOf(ApiError);
  });
});
