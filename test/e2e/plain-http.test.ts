import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { ChatifyServer } from '../support/chatify-server.js';
import { LAN_ADDRESS, createLanAddress } from '../support/lan-address.js';

/**
 * Self-hosting without TLS: the web app and /docs served over plain HTTP. Chromium treats 127.0.0.1
 * as trustworthy whatever the headers say, so the same checks also run against a LAN address, where
 * `upgrade-insecure-requests` would send every script to an HTTPS that is not there.
 */
describe.runIf(browserAvailable())('the web app over plain HTTP', () => {
  const lan = createLanAddress();
  const servers = new Map<string, ChatifyServer>();
  let browser: Browser;

  beforeAll(async () => {
    for (const host of ['127.0.0.1', ...(lan ? [LAN_ADDRESS] : [])]) servers.set(host, await ChatifyServer.start({}, { host }));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    for (const server of servers.values()) await server.close();
    lan?.remove();
  });

  describe.each([
    ['the loopback address', '127.0.0.1', true],
    ['a LAN address', LAN_ADDRESS, lan !== undefined],
  ])('on %s', (_name, host, available) => {
    it.runIf(available)('renders the app and /docs, with no console errors (favicon included)', async () => {
      const server = servers.get(host)!;
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy|insecure/i.test(message.text())) errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));

      const app = await page.goto(server.baseUrl);
      await page.getByLabel('User ID').waitFor({ timeout: 10_000 });
      // The favicon is fetched after the page loads; its answer (or its 404) comes in before the page goes.
      await expect.poll(() => page.evaluate(() => document.readyState)).toBe('complete');

      await page.goto(`${server.baseUrl}/docs`);
      await page.getByText('Chatify API').first().waitFor({ timeout: 10_000 });
      await page.getByText('/api/v1/chatbot/session/{id}/message').first().waitFor();
      expect(errors).toEqual([]);
      expect(app!.headers()['strict-transport-security']).toBeUndefined();
      expect(app!.headers()['content-security-policy']).not.toContain('upgrade-insecure-requests');
      await page.close();
    });
  });

  it('serves /favicon.ico as an image', async () => {
    const response = await fetch(`${servers.get('127.0.0.1')!.baseUrl}/favicon.ico`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^image\//);
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});
