/** Handles Node lists while work is outstanding: sockets, servers, timers we created. */
const OURS = ['TCPSocketWrap', 'TCPServerWrap', 'TCPWRAP', 'TLSWrap', 'Timeout', 'Immediate'];

/** Resources of the kinds above, after letting closing handles finish (they linger a tick or two). */
export async function activeHandles(baseline: string[] = []): Promise<string[]> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  const now = process.getActiveResourcesInfo().filter((r) => OURS.includes(r));
  // Remove what was already there before the test started.
  const left = [...now];
  for (const b of baseline) {
    const i = left.indexOf(b);
    if (i >= 0) left.splice(i, 1);
  }
  return left;
}

export function handleBaseline(): string[] {
  return process.getActiveResourcesInfo().filter((r) => OURS.includes(r));
}
