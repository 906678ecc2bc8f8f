// `npm run fuzz`: the long run. Attacks an exporter with fake importers, then
// importers with a fake exporter, for a number of frames (default 10 million
// in all), and prints frames/s, frames decoded vs sent, the longest event-loop
// delay, peak RSS and the findings. Exit code 1 when there are findings.
//
//   npm run fuzz -- --frames 2000000 --concurrency 8 --seed 7 --direction exporter --safe
//
// --frames N        frames to send in all (default 10,000,000)
// --minutes M       stop after M minutes whatever the count (default 60)
// --direction D     exporter | importer | both (default both: 80 % / 20 % of the frames)
// --concurrency C   connections at once (default 8)
// --seed S          fast-check seed (default: the time)
// --safe            leave out the inputs of the findings still open (knownFindings.ts)
// --loop-ms, --rss-mb, --steady   bounds (defaults 250 ms, 400 MiB, 0.05)
// --hostile, --mutate, --bad       shares of hostile DATA values, mutated HELLO/OPEN fields, connections ending in a violation
import { runCampaign, type CampaignConfig, type CampaignReport } from './campaign.js';
import { hostileLimits } from './knownFindings.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const safe = process.argv.includes('--safe');
if (!safe) process.env['FUZZ_FINDINGS'] = '1';
const total = Number(arg('frames', '10000000'));
const minutes = Number(arg('minutes', '60'));
const direction = arg('direction', 'both');
const concurrency = Number(arg('concurrency', '8'));
const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
const bounds = { loopMs: Number(arg('loop-ms', '250')), rssMB: Number(arg('rss-mb', '400')), steadyFraction: Number(arg('steady', '0.05')) };

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function line(r: CampaignReport): string {
  const secs = r.elapsedMs / 1000;
  return (
    `${r.direction}: ${fmt(r.framesSent)} frames sent (${fmt(r.framesSent / secs)}/s), ${fmt(r.framesDecoded)} decoded ` +
    `(${((100 * r.framesDecoded) / Math.max(1, r.framesSent)).toFixed(1)} %), ${fmt(r.connections)} connections, ` +
    `max loop delay ${r.maxLoopMs.toFixed(0)} ms, peak RSS ${r.peakRssMB.toFixed(0)} MiB (now ${r.rssMB.toFixed(0)}), steady min ${(r.steadyMinFraction * 100).toFixed(0)} % of ` +
    `${fmt(r.steadyBaseline)}/s, restarts ${r.restarts}, findings ${r.findings.total}`
  );
}

async function main(): Promise<void> {
  const directions: Array<['exporter' | 'importer', number]> =
    direction === 'both' ? [['exporter', Math.round(total * 0.8)], ['importer', Math.round(total * 0.2)]] : [[direction as 'exporter' | 'importer', total]];
  console.log(`fuzz: seed ${seed}, ${fmt(total)} frames, ${safe ? 'without' : 'with'} the inputs of open findings, bounds ${JSON.stringify(bounds)}`);
  const reports: CampaignReport[] = [];
  let lastPrint = 0;
  for (const [d, frames] of directions) {
    const config: CampaignConfig = {
      direction: d,
      frames,
      durationMs: (minutes * 60_000) / directions.length,
      concurrency,
      seed: seed + reports.length * 100_000,
      plan: {
        limits: hostileLimits(),
        maxOps: 60,
        hostileShare: Number(arg('hostile', '0.05')),
        mutateShare: Number(arg('mutate', '0.05')),
        badShare: Number(arg('bad', '0.1')),
      },
      bounds,
      heapMB: 512,
      onProgress: (r) => {
        if (Date.now() - lastPrint < 5_000) return;
        lastPrint = Date.now();
        console.log(`  ${line(r)}`);
      },
    };
    const r = await runCampaign(config);
    reports.push(r);
    console.log(line(r));
  }
  const sent = reports.reduce((n, r) => n + r.framesSent, 0);
  const decoded = reports.reduce((n, r) => n + r.framesDecoded, 0);
  const secs = reports.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
  console.log(
    `\ntotal: ${fmt(sent)} frames in ${secs.toFixed(0)} s (${fmt(sent / secs)}/s), decoded ${fmt(decoded)} (${((100 * decoded) / Math.max(1, sent)).toFixed(1)} %), ` +
      `max loop delay ${Math.max(...reports.map((r) => r.maxLoopMs)).toFixed(0)} ms, peak RSS ${Math.max(...reports.map((r) => r.peakRssMB)).toFixed(0)} MiB`,
  );
  let findings = 0;
  for (const r of reports) {
    findings += r.findings.total;
    console.log(`\nfindings (${r.direction}):\n${r.findings.format()}`);
  }
  process.exitCode = findings > 0 ? 1 : 0;
}

void main();
