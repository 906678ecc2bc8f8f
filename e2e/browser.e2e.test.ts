import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { Importer, exportChannel, importChannel, type NetchanError } from '../src/index.js';
import { launchChromium } from './support/browser.js';
import { PAGE_DIR, RESULTS } from './support/paths.js';
import { startAppServer, type AppServer } from './support/server.js';

type Browser = Awaited<ReturnType<typeof launchChromium>>;

describe('rx-netchan in Chromium (plain page, root entry bundled for the browser)', () => {
  let browser: Browser;
  let app: AppServer | null = null;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it('imports a channel over WebSocket, renders the values, sends replies back and drains', async () => {
    app = await startAppServer(PAGE_DIR);
    const numbers = exportChannel<number>(app.exporter, 'numbers', 'send');
    const replies = exportChannel<{ n: number; square: number; from: string }>(app.exporter, 'replies', 'recv', { keepOpen: true });
    const received = firstValueFrom(replies.pipe(take(10), toArray(), timeout(20_000)));
    for (let i = 1; i <= 10; i++) numbers.next(i);

    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${app.url}?mode=echo&n=10`);
    await page.locator('#status', { hasText: 'done' }).waitFor();

    expect(await page.locator('#count').textContent()).toBe('10');
    expect(await page.locator('#values li').allTextContents()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(await page.locator('#replies').textContent()).toBe('drained 10');
    expect(await page.locator('#errors').textContent()).toBe('');
    const got = await received;
    expect(got.map((r) => [r.n, r.square])).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, (i + 1) ** 2]));
    expect(new Set(got.map((r) => r.from))).toEqual(new Set(['chromium']));
    // The exporter saw a real browser socket.
    expect(app.exporter.clients[0]?.remote).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    await page.screenshot({ path: join(RESULTS, 'plain-page.png') });
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('a tab that closes mid-stream loses nothing: its unacknowledged values go to the next importer', async () => {
    app = await startAppServer(PAGE_DIR);
    const numbers = exportChannel<number>(app.exporter, 'numbers', 'send');
    const total = 40;
    for (let i = 0; i < total; i++) numbers.next(i);
    const dropped: NetchanError[] = [];
    app.exporter.errors$.subscribe((e) => dropped.push(e));

    const page = await browser.context.newPage();
    // Acknowledge 5 values, then hold the next ones (window 2) unacknowledged while the rest wait in the queue.
    await page.goto(`${app.url}?mode=hold&hold=5`);
    await page.locator('#status', { hasText: 'holding' }).waitFor();
    await page.waitForFunction(() => (window as unknown as { netchanSeen: number[] }).netchanSeen.length === 7);
    const seen = await page.evaluate(() => (window as unknown as { netchanSeen: number[] }).netchanSeen);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await page.screenshot({ path: join(RESULTS, 'tab-before-close.png') });
    expect(app.exporter.clients).toHaveLength(1);

    await page.close(); // the tab goes away: no BYE, the socket just ends
    for (let i = 0; i < 200 && app.exporter.clients.length > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(app.exporter.clients).toHaveLength(0);

    const importer = Importer.connect(app.wsUrl);
    try {
      const rest = await firstValueFrom(importChannel<number>(importer, 'numbers', 'recv').pipe(take(total - 5), toArray(), timeout(10_000)));
      // 5 and 6 were in flight to the tab, unacknowledged: they come back first.
      expect(rest).toEqual(Array.from({ length: total - 5 }, (_, i) => i + 5));
    } finally {
      await importer.close();
    }
    expect(dropped.every((e) => e.code === 'ECLOSED')).toBe(true);
  });

  it('the server side of the socket is killed mid-stream: the page reconnects, resumes, and shows every value once, in order', async () => {
    app = await startAppServer(PAGE_DIR);
    const numbers = exportChannel<number>(app.exporter, 'numbers', 'send');
    const total = 60;
    let i = 0;
    const pump = setInterval(() => i < total && numbers.next(i++), 10); // a live stream, 100 values/s
    try {
      const page = await browser.context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${app.url}?mode=resume&n=${total}`);
      await page.waitForFunction(() => (window as unknown as { netchanSeen: number[] }).netchanSeen.length >= 20);
      // Kill the exporter's side of the WebSocket: no close handshake, no goodbye.
      const links = (app.exporter as unknown as { links: Set<{ conn: { raw: { terminate(): void } } }> }).links;
      expect(links.size).toBe(1);
      for (const l of links) l.conn.raw.terminate();
      await page.locator('#status', { hasText: 'done' }).waitFor({ timeout: 20_000 });
      const seen = await page.evaluate(() => (window as unknown as { netchanSeen: number[] }).netchanSeen);
      expect(seen).toEqual(Array.from({ length: total }, (_, k) => k)); // no gap, no repeat
      expect(await page.locator('#reconnects').textContent()).toBe('resumed');
      expect(await page.locator('#state').textContent()).toBe('open');
      expect(await page.locator('#errors').textContent()).toMatch(/^ECLOSED: /);
      await page.screenshot({ path: join(RESULTS, 'resumed-page.png') });
      await page.close();
      expect(pageErrors).toEqual([]);
    } finally {
      clearInterval(pump);
    }
  });
});
