// The e2e page: imports 'numbers' from the exporter that served this page, shows
// each value, and sends replies back on an importer-side 'send' channel, then
// waits for drain. The mode comes from the query string:
//   ?mode=echo (default)  receive `n` numbers, then send back their squares and drain
//   ?mode=hold&hold=5     window of 2; acknowledge the first 5 values (50 ms apart), then
//                         hold the next ones unacknowledged, like a tab busy with them
//   ?mode=resume&n=60     reconnect on: receive `n` numbers across connection drops,
//                         showing the connection state and each reconnection
import { Importer, drain, importChannel, type Delivery } from 'rx-netchan';
import { concatMap, from, map, tap, timer } from 'rxjs';

const params = new URLSearchParams(location.search);
const mode = params.get('mode') ?? 'echo';
const n = Number(params.get('n') ?? '10');
const $ = (id: string) => document.getElementById(id)!;
const seen: number[] = [];
(window as unknown as { netchanSeen: number[] }).netchanSeen = seen;

const importer = Importer.connect(`ws://${location.host}/netchan`, mode === 'resume' ? { reconnect: { initialDelay: 20, jitter: 0 } } : {});
importer.errors$.subscribe((e) => ($('errors').textContent += `${e.code}: ${e.message}\n`));
importer.state$.subscribe((s) => ($('state').textContent = s));
const reconnects: string[] = [];
importer.reconnects$.subscribe((e) => {
  reconnects.push(e.type);
  $('reconnects').textContent = reconnects.join(', ');
});

function show(v: number): void {
  seen.push(v);
  const li = document.createElement('li');
  li.textContent = String(v);
  $('values').append(li);
  $('count').textContent = String(seen.length);
}

if (mode === 'resume') {
  $('status').textContent = 'streaming';
  importChannel<number>(importer, 'numbers', 'recv', { size: 4, count: n })
    .pipe(tap(show))
    .subscribe({
      complete: () => ($('status').textContent = 'done'),
      error: (e: Error) => ($('status').textContent = `failed: ${e.message}`),
    });
} else if (mode === 'hold') {
  const hold = Number(params.get('hold') ?? '5');
  $('status').textContent = 'streaming';
  importChannel<number>(importer, 'numbers', 'recv', { size: 2, ack: 'manual' })
    .pipe(
      concatMap((d: Delivery<number>) => {
        if (seen.length >= hold) {
          show(d.value); // shown, never acknowledged
          $('status').textContent = 'holding';
          return [];
        }
        return timer(50).pipe(tap(() => (show(d.value), d.ack())));
      }),
    )
    .subscribe();
} else {
  importChannel<number>(importer, 'numbers', 'recv', { size: 4, count: n })
    .pipe(tap(show))
    .subscribe({
      complete: () => {
        $('status').textContent = 'received';
        const replies = importChannel<{ n: number; square: number; from: string }>(importer, 'replies', 'send', { size: 2 });
        $('replies').textContent = 'sending';
        from(seen)
          .pipe(
            map((v) => ({ n: v, square: v * v, from: navigator.userAgent.includes('Chrome') ? 'chromium' : 'browser' })),
            tap((r) => replies.next(r)),
            drain(importer, { timeout: 10_000 }),
          )
          .subscribe({
            complete: () => {
              $('replies').textContent = `drained ${seen.length}`;
              $('status').textContent = 'done';
            },
            error: (e: Error) => ($('replies').textContent = `failed: ${e.message}`),
          });
      },
      error: (e: Error) => ($('status').textContent = `failed: ${e.message}`),
    });
}
