import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed, toSignal } from '@angular/core/rxjs-interop';
import { scan } from 'rxjs';
import { NetchanService, type BatchProgress } from './netchan.service';

/** What the exporter streams on 'ticks'. */
export interface Tick {
  n: number;
  at: Date;
  value: number;
}

/** What this app sends on 'commands'. */
export interface Command {
  seq: number;
  text: string;
}

const BATCH = 200;

@Component({
  selector: 'app-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>rx-netchan · Angular</h1>
    <p class="sub">An Importer in a service, over WebSocket to a Node exporter.</p>
    <p class="conn">
      connection: <b data-testid="state" [class]="'state-' + netchan.state()">{{ netchan.state() }}</b>
      @if (netchan.reconnections() > 0) {
        · back <span data-testid="reconnections">{{ netchan.reconnections() }}</span>×, resumed where it stopped
      }
    </p>
    <div class="cards">
      <section class="card" data-testid="stream">
        <h2>Live stream: ticks</h2>
        <div class="big" data-testid="tick-count">{{ count() }}</div>
        <div>ticks so far · latest <span data-testid="latest">{{ latest()?.value ?? '–' }}</span></div>
        <ul class="ticks">
          @for (t of recent(); track t.n) {
            <li data-testid="tick"><span>#{{ t.n }}</span><span>{{ t.value }}</span><span>{{ t.at.toISOString().slice(11, 23) }}</span></li>
          }
        </ul>
      </section>
      <section class="card" data-testid="batch">
        <h2>Send a batch: commands</h2>
        <button data-testid="send" (click)="send()" [disabled]="sending()">Send {{ batch }} commands</button>
        <p>
          <progress data-testid="progress" [value]="progress()?.acked ?? 0" [max]="batch"></progress>
        </p>
        <div class="status" data-testid="status">{{ status() }}</div>
      </section>
    </div>
    @if (netchan.lastError(); as err) {
      <p class="error" data-testid="error">{{ err }}</p>
    }
  `,
})
export class App {
  protected readonly netchan = inject(NetchanService);
  private readonly destroyRef = inject(DestroyRef);
  protected readonly batch = BATCH;

  /** The last 8 ticks, newest first; the import lives as long as this component. */
  protected readonly recent = toSignal(
    this.netchan.receive<Tick>('ticks', { size: 16 }).pipe(scan((acc: Tick[], t: Tick) => [t, ...acc].slice(0, 8), [])),
    { initialValue: [] },
  );
  protected readonly latest = computed((): Tick | undefined => this.recent()[0]);
  protected readonly count = computed(() => (this.latest() ? this.latest()!.n + 1 : 0));

  protected readonly progress = signal<BatchProgress | null>(null);
  protected readonly sending = computed(() => this.progress() !== null && !this.progress()!.done);
  protected readonly failed = signal<string | null>(null);
  protected readonly status = computed(() => {
    const p = this.progress();
    if (this.failed()) return `failed: ${this.failed()}`;
    if (!p) return 'idle';
    return p.done ? `drained: ${p.total} of ${p.total} acknowledged` : `sending: ${p.acked} of ${p.total} acknowledged`;
  });

  protected send(): void {
    this.failed.set(null);
    const commands = Array.from({ length: BATCH }, (_, seq): Command => ({ seq, text: `command ${seq}` }));
    this.netchan
      .sendBatch<Command>('commands', commands, 8)
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (p) => this.progress.set(p),
        error: (e: Error) => this.failed.set(e.message),
      });
  }
}
