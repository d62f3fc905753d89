import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';

/** The headers that only belong on HTTPS, as a page request gets them. */
async function httpsOnlyHeaders(server: ChatifyServer, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.baseUrl}/docs/`, { headers });
  return {
    upgrade: /upgrade-insecure-requests/.test(response.headers.get('content-security-policy') ?? ''),
    hsts: response.headers.get('strict-transport-security'),
    // Present either way: the policy itself stays.
    csp: response.headers.get('content-security-policy') !== null,
  };
}

describe('security headers over plain HTTP and HTTPS', () => {
  let direct: ChatifyServer;
  let behindProxy: ChatifyServer;
  beforeAll(async () => {
    direct = await ChatifyServer.start();
    behindProxy = await ChatifyServer.start({ TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await direct.close();
    await behindProxy.close();
  });

  it('asks for no HTTPS upgrade and no HSTS on a plain HTTP request', async () => {
    expect(await httpsOnlyHeaders(direct)).toEqual({ upgrade: false, hsts: null, csp: true });
  });

  it('believes X-Forwarded-Proto: https only from a trusted proxy', async () => {
    expect(await httpsOnlyHeaders(direct, { 'x-forwarded-proto': 'https' })).toEqual({ upgrade: false, hsts: null, csp: true });
    expect(await httpsOnlyHeaders(behindProxy, { 'x-forwarded-proto': 'https' })).toEqual({
      upgrade: true,
      hsts: 'max-age=31536000; includeSubDomains',
      csp: true,
    });
    expect(await httpsOnlyHeaders(behindProxy, { 'x-forwarded-proto': 'http' })).toEqual({ upgrade: false, hsts: null, csp: true });
  });
});
