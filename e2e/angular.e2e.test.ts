import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatMap, delay, of } from 'rxjs';
import { exportChannel, type Delivery } from '../src/index.js';
import { launchChromium } from './support/browser.js';
import { ANGULAR_DIR, ANGULAR_DIST, RESULTS } from './support/paths.js';
import { startAppServer, type AppServer } from './support/server.js';

type Browser = Awaited<ReturnType<typeof launchChromium>>;

/** Builds examples/angular if .ci/run (or you) has not: `npm run example:angular` does it all. */
function ensureAngularBuild(): void {
  if (existsSync(join(ANGULAR_DIST, 'index.html'))) return;
  if (!existsSync(join(ANGULAR_DIR, 'node_modules'))) {
    throw new Error('examples/angular is not installed: run `npm run example:angular` first (it builds the library, refreshes the copy and builds the app)');
  }
  execFileSync('npm', ['run', 'build'], { cwd: ANGULAR_DIR, stdio: 'inherit', timeout: 170_000 });
}

describe('examples/angular in Chromium against a real exporter', () => {
  let browser: Browser;
  let app: AppServer;
  let ticker: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    ensureAngularBuild();
    browser = await launchChromium();
  });
  afterAll(async () => {
    clearInterval(ticker);
    await app?.close();
    await browser?.close();
  });

  it('shows the live stream, sends a batch with a progress bar, and drains it', async () => {
    app = await startAppServer(ANGULAR_DIST);
    // A live ticker: the newest 64 wait for a receiver, older ones are dropped.
    const ticks = exportChannel<{ n: number; at: Date; value: number }>(app.exporter, 'ticks', 'send', {
      queueLimit: 64,
      overflow: 'drop-oldest',
    });
    let n = 0;
    ticker = setInterval(() => ticks.next({ n: n++, at: new Date(), value: Math.round(10_000 + 500 * Math.sin(n / 5)) / 100 }), 40);
    // The commands consumer is slow (10 ms each, acknowledged when done), so the window holds the sender back.
    const commands: Array<{ seq: number; text: string }> = [];
    exportChannel<{ seq: number; text: string }>(app.exporter, 'commands', 'recv', { ack: 'manual', keepOpen: true })
      .pipe(concatMap((d: Delivery<{ seq: number; text: string }>) => of(d).pipe(delay(10))))
      .subscribe((d) => {
        commands.push(d.value);
        d.ack();
      });

    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(app.url);

    // Streamed values render: 8 rows, and the count keeps going up.
    await page.getByTestId('tick').nth(7).waitFor();
    const first = Number(await page.getByTestId('tick-count').textContent());
    await page.waitForFunction((c) => Number(document.querySelector('[data-testid="tick-count"]')?.textContent) > c + 5, first);
    expect(await page.getByTestId('tick').count()).toBe(8);
    expect(await page.getByTestId('status').textContent()).toBe('idle');

    await page.getByTestId('send').click();
    await page.waitForFunction(() => {
      const p = document.querySelector<HTMLProgressElement>('[data-testid="progress"]');
      return p !== null && p.value >= 40 && p.value < 200;
    });
    expect(await page.getByTestId('status').textContent()).toMatch(/^sending: \d+ of 200 acknowledged$/);
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'angular-sending.png') });

    await page.getByTestId('status').filter({ hasText: 'drained: 200 of 200 acknowledged' }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('progress').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([200, 200]);
    expect(commands.map((c) => c.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(commands[199]).toEqual({ seq: 199, text: 'command 199' });
    expect(await page.getByTestId('send').isEnabled()).toBe(true);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="tick-count"]')?.textContent) > 0);
    await page.screenshot({ path: join(RESULTS, 'angular.png') });
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(pageErrors).toEqual([]);

    expect(await page.getByTestId('state').textContent()).toBe('open');

    // A server-side drop (a deploy, a load balancer's idle cut): the app reconnects, resumes,
    // shows the state, and the stream goes on.
    expect(app.exporter.clients).toHaveLength(1);
    const links = (app.exporter as unknown as { links: Set<{ conn: { raw: { terminate(): void } } }> }).links;
    for (const l of links) l.conn.raw.terminate();
    await page.getByTestId('reconnections').filter({ hasText: '1' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('state').textContent()).toBe('open');
    const resumedAt = Number(await page.getByTestId('tick-count').textContent());
    await page.waitForFunction((c) => Number(document.querySelector('[data-testid="tick-count"]')?.textContent) > c + 3, resumedAt);
    await page.screenshot({ path: join(RESULTS, 'angular-reconnected.png') });
    expect(pageErrors).toEqual([]);

    await page.close();
    // The tab is gone: its session waits for a resume (resumeGrace), with no connection.
    const connected = () => app.exporter.clients.filter((c) => c.connected).length;
    for (let i = 0; i < 200 && connected() > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(connected()).toBe(0);
  });
});
