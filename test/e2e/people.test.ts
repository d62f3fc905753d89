import { mkdirSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { FakeOpenAi } from '../support/fake-openai.js';
import { ChatifyServer } from '../support/chatify-server.js';

const SHOTS = 'test-output/screenshots';
const CONNECTED = 'Connected: new messages appear as they arrive.';

describe.runIf(browserAvailable())('People: two signed-in users chat live in the browser', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await model?.close();
  });

  /** A separate browser profile (its own localStorage) signed in as `userId`, on the People page and live. */
  async function onPeople(userId: string, setUp?: (page: Page) => Promise<void>): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1180, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    await setUp?.(page);
    await page.goto(server.baseUrl);
    await page.getByLabel('User ID').fill(userId);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.getByText(CONNECTED).waitFor();
    // Marks this document: still set later means the page was never reloaded.
    await page.evaluate(() => ((window as any).__sameDocument = true));
    return page;
  }

  const conversations = (page: Page) => page.getByRole('list', { name: 'Conversations', exact: true });
  const conversationWith = (page: Page, userId: string) =>
    conversations(page).getByRole('button').filter({ has: page.locator('.session-name', { hasText: userId }) });
  const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true });
  const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true });
  const unreadBadge = (page: Page, count: number) => page.getByRole('img', { name: `${count} unread`, exact: true });

  it('alice starts a chat, bob sees it unread live, opens it and replies; both see typing', async () => {
    const alice = await onPeople('alice');
    const bob = await onPeople('bob');
    expect(await bob.getByText('No conversations yet').isVisible()).toBe(true);

    // Alice starts the chat and writes.
    await alice.getByLabel('Chat with user', { exact: true }).fill('bob');
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await alice.getByRole('heading', { name: 'bob' }).waitFor();
    await expect.poll(() => messageBox(alice).evaluate((el) => el === document.activeElement)).toBe(true);
    await messageBox(alice).fill('Hi Bob! <b>not bold</b> <img src=x onerror="window.__xss=1">');
    await alice.getByRole('button', { name: 'Send', exact: true }).click();
    const sent = messages(alice).getByRole('listitem').filter({ hasText: 'Hi Bob!' });
    await sent.waitFor();
    expect(await sent.getAttribute('class')).toContain('own');
    expect(await messageBox(alice).inputValue()).toBe('');

    // Bob, already on People, sees the conversation arrive with one unread message, without reloading.
    await conversationWith(bob, 'alice').waitFor();
    await unreadBadge(bob, 1).waitFor();
    expect(await conversationWith(bob, 'alice').getByRole('img', { name: '1 unread' }).isVisible()).toBe(true);
    expect(await bob.evaluate(() => (window as any).__sameDocument)).toBe(true);
    await bob.screenshot({ path: `${SHOTS}/people-1-unread-badge.png` });

    // Bob opens it: the message is there as plain text, and it is read (badge gone, here and on the server).
    await conversationWith(bob, 'alice').click();
    const received = messages(bob).getByRole('listitem').filter({ hasText: 'Hi Bob!' });
    await received.waitFor();
    expect(await received.getAttribute('class')).toContain('other');
    expect(await received.textContent()).toContain('alice');
    expect(await received.textContent()).toContain('<b>not bold</b> <img src=x onerror="window.__xss=1">');
    expect(await bob.locator('.messages b, .messages img').count()).toBe(0);
    expect(await bob.evaluate(() => (window as any).__xss)).toBeUndefined();
    await expect.poll(() => unreadBadge(bob, 1).count()).toBe(0);
    await expect
      .poll(async () => (await server.get('/api/v1/connections?user_id=bob')).body[0]?.unread_count)
      .toBe(0);

    // Bob types: alice sees it; bob replies with Enter: alice sees the reply live and the indicator goes.
    await messageBox(bob).fill('Hello Alice');
    const typing = alice.getByRole('status').filter({ hasText: 'bob is typing…' });
    await typing.waitFor();
    await alice.screenshot({ path: `${SHOTS}/people-2-typing.png` });
    await messageBox(bob).press('Enter');
    await messages(alice).getByRole('listitem').filter({ hasText: 'Hello Alice' }).waitFor();
    await expect.poll(() => typing.count()).toBe(0);
    expect(await messageBox(bob).inputValue()).toBe('');
    expect(await alice.evaluate(() => (window as any).__sameDocument)).toBe(true);
    // The conversation alice has open does not count as unread for her.
    expect(await unreadBadge(alice, 1).count()).toBe(0);
    await alice.screenshot({ path: `${SHOTS}/people-3-reply.png` });
    await bob.screenshot({ path: `${SHOTS}/people-4-bob-conversation.png` });

    // Alice ends the chat: both see it ended and can no longer write.
    await alice.getByRole('button', { name: 'End chat' }).click();
    for (const page of [alice, bob]) {
      await page.getByText('This chat has ended').waitFor();
      expect(await messageBox(page).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'End chat' }).count()).toBe(0);
    }
    await bob.screenshot({ path: `${SHOTS}/people-5-ended.png` });
  });

  it('counts unread messages of conversations that are not open, and resumes after the socket drops', async () => {
    // Carol's socket goes through the test, so the test can cut it like a lost network would and
    // hold her reconnect back while others write.
    const sockets: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
    const urls: string[] = [];
    let offline = false;
    const held: WebSocketRoute[] = [];
    const connect = (ws: WebSocketRoute) => sockets.push({ page: ws, server: ws.connectToServer() });
    const carol = await onPeople('carol', (page) =>
      page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
        urls.push(ws.url());
        if (offline) held.push(ws);
        else connect(ws);
      }),
    );
    const dave = await onPeople('dave');
    const erin = await onPeople('erin');

    for (const [page, text] of [[dave, 'Dave here'], [erin, 'Erin here']] as const) {
      await page.getByLabel('Chat with user', { exact: true }).fill('carol');
      await page.getByRole('button', { name: 'Start chat' }).click();
      await messageBox(page).fill(text);
      await messageBox(page).press('Enter');
      await messages(page).getByText(text).waitFor();
    }
    await conversationWith(carol, 'dave').getByRole('img', { name: '1 unread' }).waitFor();
    await conversationWith(carol, 'erin').getByRole('img', { name: '1 unread' }).waitFor();

    // Carol reads dave's; erin's stays unread and counts up live.
    await conversationWith(carol, 'dave').click();
    await messages(carol).getByText('Dave here').waitFor();
    await messageBox(erin).fill('Are you there?');
    await messageBox(erin).press('Enter');
    await conversationWith(carol, 'erin').getByRole('img', { name: '2 unread' }).waitFor();
    expect(await conversationWith(carol, 'dave').getByRole('img').count()).toBe(0);

    // The connection drops; messages sent meanwhile arrive after the reconnect, once each.
    expect(sockets).toHaveLength(1);
    offline = true;
    const [first] = sockets.splice(0);
    await first!.server.close({ code: 4000, reason: 'test: network lost' });
    await first!.page.close({ code: 4000, reason: 'test: network lost' });
    await expect.poll(() => held.length, { timeout: 5000 }).toBe(1);
    expect(await carol.getByText(CONNECTED).count()).toBe(0);
    await messageBox(dave).fill('Sent while you were offline');
    await messageBox(dave).press('Enter');
    await messages(dave).getByText('Sent while you were offline').waitFor();
    await messageBox(erin).fill('Me too');
    await messageBox(erin).press('Enter');
    await messages(erin).getByText('Me too').waitFor();
    offline = false;
    connect(held[0]!);
    await carol.getByText(CONNECTED).waitFor({ timeout: 10_000 });
    const resumeFrom = new URL(urls.at(-1)!).searchParams.get('after') ?? '';
    const daveChat = (await server.get('/api/v1/connections?user_id=dave')).body[0].id as string;
    expect(resumeFrom.split(',')).toContain(`${daveChat}:1`);
    await messages(carol).getByText('Sent while you were offline').waitFor();
    await conversationWith(carol, 'erin').getByRole('img', { name: '3 unread' }).waitFor();
    expect(await messages(carol).getByText('Sent while you were offline').count()).toBe(1);
    expect(await messages(carol).getByRole('listitem').count()).toBe(2);
    await carol.screenshot({ path: `${SHOTS}/people-6-unread-and-resume.png` });

    // Opening erin's conversation reads all three.
    await conversationWith(carol, 'erin').click();
    await messages(carol).getByText('Me too').waitFor();
    await expect.poll(() => carol.getByRole('img', { name: /unread/ }).count()).toBe(0);
    await expect
      .poll(async () => ((await server.get('/api/v1/connections?user_id=carol')).body as { unread_count: number }[]).map((c) => c.unread_count))
      .toEqual([0, 0]);
  });

  it('fits a 375 px wide phone screen', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(server.baseUrl);
    await page.getByLabel('User ID').fill('frank');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.getByLabel('Chat with user', { exact: true }).fill('alice');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await messageBox(page).fill('Hi from my phone');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await messages(page).getByText('Hi from my phone').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: `${SHOTS}/people-7-phone.png`, fullPage: true });
  });
});

describe.runIf(browserAvailable())('People against a server that requires sign-in', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let browser: Browser;
  const secret = 'a-test-secret-that-is-long-enough-for-hs256';
  const tokenFor = (userId: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(secret));

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { AUTH_MODE: 'jwt', JWT_SECRET: secret }));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await model?.close();
  });

  async function signedIn(userId: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.baseUrl);
    await page.getByLabel('Access token').fill(await tokenFor(userId));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.getByText(CONNECTED).waitFor();
    return page;
  }

  it('chats live with access tokens (the socket signs in with access_token)', async () => {
    const alice = await signedIn('token_alice');
    const bob = await signedIn('token_bob');
    await alice.getByLabel('Chat with user', { exact: true }).fill('token_bob');
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await alice.getByRole('textbox', { name: 'Message', exact: true }).fill('Signed in and live');
    await alice.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await bob.getByRole('img', { name: '1 unread', exact: true }).waitFor();
    await bob.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button').first().click();
    await bob.getByRole('list', { name: 'Messages', exact: true }).getByText('Signed in and live').waitFor();
    await expect.poll(() => bob.getByRole('img', { name: /unread/ }).count()).toBe(0);
    await bob.context().close();
    await alice.context().close();
  });
});
