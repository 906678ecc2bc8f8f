/** Handles Node lists while work is outstanding: sockets, servers, timers we created. */
const OURS = ['TCPSocketWrap', 'TCPServerWrap', 'TCPWRAP', 'TLSWrap', 'Timeout', 'Immediate'];

function ours(baseline: string[]): string[] {
  const left = process.getActiveResourcesInfo().filter((r) => OURS.includes(r));
  // Remove what was already there before the test started.
  for (const b of baseline) {
    const i = left.indexOf(b);
    if (i >= 0) left.splice(i, 1);
  }
  return left;
}

/**
 * Resources of the kinds above that outlive the test. Closing sockets linger for
 * a few ticks (longer on a loaded machine), so this polls for up to `withinMs`
 * and returns what is still there then: a real leak stays, a slow close does not.
 */
export async function activeHandles(baseline: string[] = [], withinMs = 2_000): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const left = ours(baseline);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 10).unref());
  }
}

export function handleBaseline(): string[] {
  return process.getActiveResourcesInfo().filter((r) => OURS.includes(r));
}
