import { mkdirSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { ChatifyServer } from '../support/chatify-server.js';

const SHOTS = 'test-output/screenshots';
const XSS_REPLY = 'Look: <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> **bold** text';

describe.runIf(browserAvailable())('the web app in a browser', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    model = await FakeOpenAi.start({
      latencyMs: 150,
      tokenDelayMs: 25,
      reply: (request) => {
        const last = request.messages.at(-1)!.content;
        return last.includes('xss') ? XSS_REPLY : `Reply to: ${last}. That is a lovely thing to say, thank you!`;
      },
    });
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await model?.close();
  });

  async function signedIn(userId: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    await page.goto(server.baseUrl);
    await page.getByLabel('User ID').fill(userId);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.getByRole('combobox', { name: 'Personality' }).locator('option').count()).toBeGreaterThan(5);
    return page;
  }

  /** Records every text the newest reply bubble shows, to prove replies arrive piece by piece. */
  async function watchReplies(page: Page): Promise<void> {
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as any).__replyStates = seen;
      new MutationObserver(() => {
        const bubbles = document.querySelectorAll('.bubble.assistant .markdown');
        const last = bubbles[bubbles.length - 1];
        if (last && seen.at(-1) !== last.textContent) seen.push(last.textContent ?? '');
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  }

  it('chats with streamed replies, ends the chat and reopens it from the list', async () => {
    const page = await signedIn('e2e_user');
    await page.getByRole('combobox', { name: 'Personality' }).selectOption('friendly-assistant');
    await expect.poll(() => page.getByText('A warm, upbeat assistant').isVisible()).toBe(true);
    await expect.poll(() => page.getByText("Hey there! What's on your mind today?").first().isVisible()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/1-pick-personality.png` });

    await page.getByRole('button', { name: 'Start chat' }).click();
    await watchReplies(page);
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Hello there');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'typing' }).isVisible()).toBe(true);
    const first = 'Reply to: Hello there. That is a lovely thing to say, thank you!';
    await page.getByText(first).waitFor();
    const states: string[] = await page.evaluate(() => (window as any).__replyStates);
    expect(states.some((s) => s.length > 0 && s.length < first.length && first.startsWith(s))).toBe(true);

    await box.fill('How are you?');
    await box.press('Enter');
    await page.getByText('Reply to: How are you?').waitFor();
    await page.screenshot({ path: `${SHOTS}/2-chat.png` });

    await page.getByRole('button', { name: 'End chat' }).click();
    await page.getByText('This chat has ended').waitFor();
    expect(await box.isDisabled()).toBe(true);

    // Start another chat, then reopen the ended one from the list of past sessions.
    await page.getByRole('button', { name: 'Start chat' }).click();
    await expect.poll(() => page.getByText('Reply to: Hello there').count()).toBe(0);
    const past = page.getByRole('list', { name: 'Past sessions' }).getByRole('button');
    await expect.poll(() => past.count()).toBe(2);
    await expect.poll(() => past.nth(1).textContent()).toContain('2 exchanges');
    await past.nth(1).click();
    await page.getByText(first).waitFor();
    await page.getByText('Reply to: How are you?').waitFor();
    expect(await page.getByText('Hello there', { exact: true }).isVisible()).toBe(true);
    await page.screenshot({ path: `${SHOTS}/3-reopened-session.png` });
    await page.close();
  });

  it('shows HTML in a reply as text and runs none of it', async () => {
    const page = await signedIn('e2e_xss');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('show me xss');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('text', { exact: false }).last().waitFor();
    await expect.poll(() => page.locator('.bubble.assistant strong').textContent()).toBe('bold');
    const reply = page.locator('.bubble.assistant .markdown').last();
    expect(await reply.textContent()).toContain('<img src=x onerror="window.__xss=1">');
    expect(await reply.textContent()).toContain('<script>window.__xss=2</script>');
    expect(await page.locator('.messages img, .messages script').count()).toBe(0);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    await page.screenshot({ path: `${SHOTS}/4-html-as-text.png` });
    await page.close();
  });

  it('explains a failed send, keeps the text and retries it', async () => {
    const page = await signedIn('e2e_fail');
    await page.getByRole('button', { name: 'Start chat' }).click();
    model.faults.push({ status: 500 });
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Please answer this');
    await page.getByRole('button', { name: 'Send' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('model is unavailable');
    expect(await box.inputValue()).toBe('Please answer this');
    await page.screenshot({ path: `${SHOTS}/5-model-unavailable.png` });
    await alert.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('Reply to: Please answer this').waitFor();
    await expect.poll(() => alert.count()).toBe(0);
    await page.close();
  });

  it('creates and edits a personality and the universal rules, with errors beside the fields', async () => {
    const page = await signedIn('e2e_admin');
    await page.getByRole('link', { name: 'Personalities' }).click();
    await page.getByRole('button', { name: 'New personality' }).click();
    const form = page.getByRole('form', { name: 'New personality' });
    await form.getByRole('button', { name: 'Create personality' }).click();
    await form.getByText('Give the personality a name.').waitFor();
    expect(await form.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');

    await form.getByLabel('Name').fill('Test Pilot');
    await form.getByLabel('Personality prompt').fill('You are a calm airline pilot.');
    await form.getByLabel('Temperature').fill('3');
    await form.getByRole('button', { name: 'Create personality' }).click();
    await form.getByText('Enter a number from 0 to 2.').waitFor();
    await form.getByLabel('Temperature').fill('0.5');
    await form.getByRole('button', { name: 'Create personality' }).click();
    const card = page.getByRole('article', { name: 'Test Pilot' });
    await card.waitFor();
    expect((await server.get('/api/v1/personalities/test-pilot')).body).toMatchObject({ temperature: 0.5 });

    await page.getByRole('button', { name: 'Edit Test Pilot' }).click();
    const edit = page.getByRole('form', { name: 'Edit Test Pilot' });
    await edit.getByLabel('Description').fill('Flies you home safely.');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await card.getByText('Flies you home safely.').waitFor();
    expect((await server.get('/api/v1/personalities/test-pilot')).body.description).toBe('Flies you home safely.');

    // The server's own refusal lands next to the field it is about.
    await page.getByRole('button', { name: 'New personality' }).click();
    await form.getByLabel('Name').fill('Test Pilot');
    await form.getByLabel('Personality prompt').fill('Another pilot.');
    await form.getByRole('button', { name: 'Create personality' }).click();
    await form.locator('#new-personality-name-error').getByText('already exists').waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('textbox', { name: 'Universal rules' }).fill('Be kind and brief.');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('Rules saved (version 2).').waitFor();
    expect((await server.get('/api/v1/settings/universal-rules')).body).toMatchObject({ rules: 'Be kind and brief.', version: 2 });
    await page.screenshot({ path: `${SHOTS}/6-personalities.png`, fullPage: true });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete Test Pilot' }).click();
    await expect.poll(() => card.count()).toBe(0);
    expect((await server.get('/api/v1/personalities/test-pilot')).status).toBe(404);
    await page.close();
  });

  it('reopens a long conversation page by page', async () => {
    const id = await server.createSession('e2e_long');
    const latency = model.latencyMs;
    model.latencyMs = 0;
    for (let i = 1; i <= 105; i++) await server.send(id, `long message ${i}`);
    model.latencyMs = latency;
    const page = await signedIn('e2e_long');
    await page.getByRole('list', { name: 'Past sessions' }).getByRole('button').first().click();
    await page.getByText('long message 105', { exact: true }).waitFor();
    expect(await page.getByText('long message 1', { exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Load earlier messages' }).click();
    await page.getByText('long message 1', { exact: true }).waitFor();
    await expect.poll(() => page.getByRole('button', { name: 'Load earlier messages' }).count()).toBe(0);
    expect(await page.locator('.messages .bubble:not(.welcome-bubble)').count()).toBe(210);
    await page.close();
  });

  it('serves the API documentation under its security policy', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });
    await page.goto(`${server.baseUrl}/docs`);
    await page.getByText('Chatify API').first().waitFor();
    await page.getByText('/api/v1/chatbot/session/{id}/message').first().waitFor();
    expect(blocked).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/9-api-docs.png` });
    await page.close();
  });

  it('fits a 375 px wide phone screen', async () => {
    const page = await signedIn('e2e_phone', { width: 375, height: 740 });
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Hi from my phone');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Reply to: Hi from my phone').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: `${SHOTS}/7-phone.png`, fullPage: true });
    await page.close();
  });
});

describe.runIf(browserAvailable())('the web app against a server that requires sign-in', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let browser: Browser;
  const secret = 'a-test-secret-that-is-long-enough-for-hs256';

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, { AUTH_MODE: 'jwt', JWT_SECRET: secret, ADMIN_API_KEY: 'the-admin-key' }),
    );
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await model?.close();
  });

  it('signs in with an access token and changes personalities with the admin key', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('token_user').setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const page = await browser.newPage();
    await page.goto(server.baseUrl);
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('token_user').waitFor();
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('Signed in?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Reply to: Signed in?').waitFor();

    await page.getByRole('link', { name: 'Personalities' }).click();
    await page.getByRole('textbox', { name: 'Universal rules' }).fill('Rules need the key.');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('That needs the admin key').waitFor();
    await page.getByLabel('Admin key').fill('the-admin-key');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('Rules saved (version 2).').waitFor();
    await page.screenshot({ path: `${SHOTS}/8-signed-in-admin.png`, fullPage: true });
    await page.close();
  });
});
