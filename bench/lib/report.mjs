// Markdown table and hand-written SVG chart of the medians.

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
/** The median of per-rep ratios when run.mjs computed it, else the ratio of the medians. */
const rat = (m, raw, key) => (m && Number.isFinite(m.ratio) ? m.ratio : ratio(m?.[key], raw?.[key]));
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const ratioTarget = (id, sys, sc, want, ok) => ({ id, sys, sc, want, check: (m, raw) => rat(m, raw, sc.startsWith('S3') ? 'p50' : 'rate'), ok, show: (r) => `${fmt(r)}×` });
const atLeast = (x) => (r) => r >= x;

/** Issue 13's targets (and issue 4's memory and fairness ones). */
export const TARGETS = [
  ratioTarget('S1 TCP', 'rx-tcp', 'S1', '≥ 0.85× raw', atLeast(0.85)),
  ratioTarget('S1 WebSocket', 'rx-ws', 'S1', '≥ 0.85× raw', atLeast(0.85)),
  ratioTarget('S2 TCP', 'rx-tcp', 'S2', '≥ 0.95× raw', atLeast(0.95)),
  ratioTarget('S2 WebSocket', 'rx-ws', 'S2', '≥ 0.95× raw', atLeast(0.95)),
  {
    id: 'S2 producer peak RSS TCP',
    sys: 'rx-tcp',
    sc: 'S2',
    want: '≤ 1.2× raw',
    check: (m, raw) => ratio(m.serverPeakRss, raw.serverPeakRss),
    ok: (r) => r <= 1.2,
    show: (r) => `${fmt(r)}×`,
  },
  ratioTarget('S3 p50 TCP', 'rx-tcp', 'S3', '≤ 1.10× raw', (r) => r <= 1.1),
  ratioTarget('S3 p50 WebSocket', 'rx-ws', 'S3', '≤ 1.10× raw', (r) => r <= 1.1),
  ratioTarget('S1 through 20 ms TCP', 'rx-tcp', 'S1@20ms', '≥ 0.80× raw', atLeast(0.8)),
  ratioTarget('S1 through 50 ms TCP', 'rx-tcp', 'S1@50ms', '≥ 0.80× raw', atLeast(0.8)),
  ratioTarget('S1 through 20 ms WebSocket', 'rx-ws', 'S1@20ms', '≥ 0.80× raw', atLeast(0.8)),
  ratioTarget('S1 through 50 ms WebSocket', 'rx-ws', 'S1@50ms', '≥ 0.80× raw', atLeast(0.8)),
  ratioTarget('S2 through 20 ms TCP', 'rx-tcp', 'S2@20ms', '≥ 0.80× raw', atLeast(0.8)),
  ratioTarget('S2 through 50 ms TCP', 'rx-tcp', 'S2@50ms', '≥ 0.80× raw', atLeast(0.8)),
  { id: 'S4 memory TCP', sys: 'rx-tcp', sc: 'S4', want: 'both ≤ 64 MiB over idle', check: (m) => Math.max(m.serverRss, m.clientRss), ok: (r) => r <= 64, show: (r) => `${fmt(r, 1)} MiB (worse side)` },
  { id: 'S5 spread TCP', sys: 'rx-tcp', sc: 'S5out', want: 'within ±20 % of even', check: (m) => m.spread, ok: (r) => r <= 20, show: (r) => `±${fmt(r, 1)} %` },
];

export function renderMarkdown({ meta, systems, scenarios, med, notes, svgName }) {
  const raw = med.raw ?? {};
  const L = [];
  const sc = meta.scenarios;
  L.push('# rx-netchan benchmark results', '');
  L.push(`Fresh run of \`npm run bench\` (${meta.quick ? '**BENCH_QUICK smoke run**, ' : ''}${meta.date}). ${meta.cpus}, ${meta.os}, Node ${meta.node}; NATS: ${meta.nats}.`);
  L.push(`Library under test: ${meta.lib}.`);
  L.push(`Medians of ${meta.reps} interleaved reps for S1–S3 (S4: ${meta.s4reps}, S5: ${meta.s5reps}); wall time ${meta.wallSeconds} s. Every system runs as separate node processes over 127.0.0.1, default options unless noted. The machine is shared, so absolute figures are noisy: read the ratios to the raw limit ("× raw": each rep's value over raw's value in the same rep, then the median of those).`, '');
  L.push(`![msgs/s per system and S3 latency](${svgName})`, '');
  const has = (k) => scenarios.includes(k);
  const n = (k) => (sc[k] ? sc[k].params.n.toLocaleString('en-US') : '');
  L.push('## Throughput and latency', '');
  const head = ['System'];
  if (has('S1')) head.push(`S1 ${n('S1')} small values/s (× raw)`);
  if (has('S2')) head.push(`S2 ${n('S2')} × 64 KiB, MiB/s (× raw)`);
  if (has('S3')) head.push(`S3 round trip p50 / p90 / p99 µs (p50 × raw)`);
  if (has('S5out')) head.push(`S5 fan-out 1→8 values/s (× raw), spread`);
  if (has('S5in')) head.push(`S5 fan-in 8→1 values/s (× raw)`);
  L.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
  for (const s of systems) {
    const m = med[s.id] ?? {};
    const row = [s.label];
    const thr = (k, f = (x) => fmtInt(x.rate)) => (m[k] ? `${f(m[k])} (${fmt(rat(m[k], raw[k], 'rate'))})` : cellNote(s, k, notes));
    if (has('S1')) row.push(thr('S1'));
    if (has('S2')) row.push(thr('S2', (x) => fmt(x.mibps, 0)));
    if (has('S3')) row.push(m.S3 ? `${fmt(m.S3.p50, 0)} / ${fmt(m.S3.p90, 0)} / ${fmt(m.S3.p99, 0)} (${fmt(rat(m.S3, raw.S3, 'p50'))})` : cellNote(s, 'S3', notes));
    if (has('S5out')) row.push(m.S5out ? `${fmtInt(m.S5out.rate)} (${fmt(rat(m.S5out, raw.S5out, 'rate'))}), ±${fmt(m.S5out.spread, 1)} %` : cellNote(s, 'S5out', notes));
    if (has('S5in')) row.push(thr('S5in'));
    L.push(`| ${row.join(' | ')} |`);
  }
  L.push('');
  const linkCols = scenarios.filter((k) => sc[k]?.rttMs);
  if (linkCols.length) {
    L.push('## Through a latency link', '');
    L.push(
      `S1 and S2 again, the importer connected through \`FaultProxy\` (rx-netchan/node) with half the round trip added each way and ${fmt((meta.linkRate * 8) / 1e9, 1)} Gbit/s of bandwidth (${fmtInt(meta.linkRate)} bytes/s, token bucket). Values/s for S1, MiB/s for S2, (× raw in the same rep). Systems with a fixed credit of 64 values are left out.`,
      '',
    );
    L.push(`| System | ${linkCols.map((k) => `${sc[k].base} through ${sc[k].rttMs} ms`).join(' | ')} |`, `|---|${linkCols.map(() => '---:').join('|')}|`);
    for (const s of systems) {
      const m = med[s.id] ?? {};
      if (!linkCols.some((k) => m[k])) continue;
      const cell = (k) => (m[k] ? `${sc[k].base === 'S2' ? fmt(m[k].mibps, 0) : fmtInt(m[k].rate)} (${fmt(rat(m[k], raw[k], 'rate'))})` : cellNote(s, k, notes));
      L.push(`| ${s.label} | ${linkCols.map(cell).join(' | ')} |`);
    }
    L.push('');
  }
  if (has('S2')) {
    L.push('S2 producer peak RSS (MiB, absolute): ' + systems.filter((s) => med[s.id]?.S2).map((s) => `${s.label} ${fmt(med[s.id].S2.serverPeakRss, 0)}`).join(', ') + '.', '');
  }
  L.push('## CPU time per value (µs, all processes of the run summed: user + system)', '');
  const cpuCols = scenarios;
  L.push(`| System | ${cpuCols.map((k) => (k === 'S3' ? 'S3 (per round trip)' : k)).join(' | ')} |`, `|---|${cpuCols.map(() => '---:').join('|')}|`);
  for (const s of systems) {
    const m = med[s.id] ?? {};
    L.push(`| ${s.label} | ${cpuCols.map((k) => (m[k] ? fmt(m[k].cpuPerValue) : '–')).join(' | ')} |`);
  }
  L.push('');
  if (has('S4')) {
    L.push(`## S4: memory under a slow consumer (${n('S4')} values offered, consumer spends 10 µs per value)`, '');
    L.push('Peak RSS (getrusage maxRSS) minus the idle RSS each process had once connected.', '');
    L.push('| System | producer Δ peak RSS MiB | consumer Δ peak RSS MiB | values delivered | wall s |', '|---|---:|---:|---:|---:|');
    for (const s of systems) {
      const m = med[s.id]?.S4;
      if (!m) L.push(`| ${s.label} | ${cellNote(s, 'S4', notes)} | | | |`);
      else L.push(`| ${s.label} | ${fmt(m.serverRss, 1)} | ${fmt(m.clientRss, 1)} | ${fmtInt(sc.S4.params.n - m.lost)} | ${fmt(m.ms / 1000, 1)} |`);
    }
    L.push('');
  }
  L.push('## rx-netchan against the targets of issue 13 (and issue 4)', '');
  L.push('| Target | Wanted | Measured | Met? |', '|---|---|---:|---|');
  for (const t of TARGETS) {
    if (!has(t.sc)) continue;
    const m = med[t.sys]?.[t.sc];
    const r = m ? t.check(m, raw[t.sc] ?? {}) : NaN;
    if (!m && !med[t.sys]) continue; // system not selected
    L.push(`| ${t.id} | ${t.want} | ${Number.isFinite(r) ? t.show(r) : 'not measured'} | ${Number.isFinite(r) ? (t.ok(r) ? 'yes' : '**no**') : '–'} |`);
  }
  L.push('');
  L.push('## Notes', '');
  for (const [k, v] of Object.entries(notes)) L.push(`- ${k}: ${v}`);
  L.push(...METHOD_NOTES, '');
  return L.join('\n');
}

function cellNote(s, k, notes) {
  if (notes[s.id]) return 'skipped';
  if (notes[`${s.id} ${k}`]) return 'failed';
  return '–';
}

const METHOD_NOTES = [
  '- Throughput: values delivered ÷ (last value received by the consumer − first value offered by the producer), one value at a time through each system\'s public send call; producers pace themselves on the system\'s own signal (rx-netchan `capacity`/`capacity$`, socket `write()`/`drain`, credit, `ws` send callbacks, engine.io `drain`, request-n, NATS `flush()` every 1,024 messages).',
  '- raw: `node:net`, u32 length + type byte + msgpack body, frames batched per microtask (64 KiB batches), stops at 256 KiB unsent; raw + credit: the same with at most 64 values unacknowledged and a cumulative acknowledgement every 16 values.',
  '- ws + msgpack and Socket.IO (websocket transport only, default JSON/binary parser) have no application acknowledgements: they are paced on their transport buffers. RSocket: `requestStream` with request-n 64, topped up by 16 every 16 values, TCP transport, msgpack payloads. NATS core: msgpack payloads, queue group for S5 fan-out, no acknowledgements (nats-server CPU is included in CPU per value; its memory is not in S4).',
  '- Latency link: the importer connects through `FaultProxy` (rx-netchan/node) running in the orchestrator, adding half the round trip each way (`latency`), with a token-bucket `bandwidth` and a 64 MiB buffer per direction, so the bandwidth-delay product fits. rx-netchan runs with its default (adaptive) window; raw has no window at all.',
  '- S3: the exporter sends a value, the importer sends it back into the exporter\'s `recv` channel (other systems: the same echo over their own link); latency measured in the exporter after a warm-up.',
  '- S4 and S5 run once per `npm run bench` by default (BENCH_S4_REPS / BENCH_S5_REPS for more): the S5 spread of the credit-based systems moves a lot between runs, because shares follow how the OS schedules 9 processes on the cores.',
  '- S5 spread: largest deviation of one importer\'s share from an even 1/8, in %. Fan-out uses each system\'s work-queue semantics (rx-netchan one channel, NATS a queue group, the others round-robin among writable connections).',
];

// ---- SVG ----
export function renderSvg({ systems, med }) {
  const W = 960;
  const labelW = 250;
  const barH = 16;
  const gap = 6;
  const panels = [
    { title: 'S1: small values per second (higher is better)', key: (m) => m.S1?.rate, unit: '/s', fmt: (v) => fmtInt(v), ratioTo: 'rate', sc: 'S1' },
    { title: 'S2: 64 KiB values, MiB/s (higher is better)', key: (m) => m.S2?.mibps, fmt: (v) => `${fmt(v, 0)} MiB/s`, sc: 'S2' },
    { title: 'S3: round-trip latency, p50 (dark) and p99 (light), µs (lower is better)', key: (m) => m.S3?.p99, key2: (m) => m.S3?.p50, fmt: (v) => `${fmt(v, 0)} µs`, sc: 'S3' },
  ];
  const colors = { raw: '#555', 'raw-credit': '#888', 'rx-tcp': '#d6336c', 'rx-ws': '#f783ac' };
  let y = 30;
  const parts = [];
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="16" font-weight="bold">rx-netchan benchmark (medians; ratios to the raw TCP limit)</text>`);
  for (const p of panels) {
    y += 20;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    y += 8;
    const vals = systems.map((s) => p.key(med[s.id] ?? {})).filter(Number.isFinite);
    const max = Math.max(1, ...vals);
    const rawV = p.key2 ? p.key2(med.raw ?? {}) : p.key(med.raw ?? {});
    for (const s of systems) {
      const m = med[s.id] ?? {};
      const v = p.key(m);
      y += barH + gap;
      parts.push(`<text x="${labelW - 8}" y="${y - 4}" text-anchor="end" font-size="12">${esc(s.label)}</text>`);
      if (!Number.isFinite(v)) {
        parts.push(`<text x="${labelW + 4}" y="${y - 4}" font-size="12" fill="#999">not measured</text>`);
        continue;
      }
      const scale = (W - labelW - 190) / max;
      const c = colors[s.id] ?? '#4c6ef5';
      parts.push(`<rect x="${labelW}" y="${y - barH}" width="${Math.max(1, v * scale).toFixed(1)}" height="${barH}" fill="${c}" opacity="${p.key2 ? 0.4 : 1}"/>`);
      let text = p.fmt(v);
      if (p.key2) {
        const v2 = p.key2(m);
        parts.push(`<rect x="${labelW}" y="${y - barH}" width="${Math.max(1, v2 * scale).toFixed(1)}" height="${barH}" fill="${c}"/>`);
        text = `p50 ${fmt(v2, 0)} / p99 ${fmt(v, 0)} µs (p50 ${fmt(rat(m[p.sc], null, 'p50'))}×)`;
      } else text += ` (${fmt(m[p.sc] && Number.isFinite(m[p.sc].ratio) ? m[p.sc].ratio : ratio(v, rawV))}×)`;
      parts.push(`<text x="${(labelW + Math.max(1, v * scale) + 6).toFixed(1)}" y="${y - 4}" font-size="11">${esc(text)}</text>`);
    }
    y += 10;
  }
  const H = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="${W}" height="${H}" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
