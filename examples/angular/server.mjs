// A demo backend for the Angular example: serves dist/netchan-demo/browser and an
// rx-netchan Exporter on the same port at /netchan (ticks out, commands in).
//   npm run build && npm run serve:dist        then open http://127.0.0.1:4300/
// With `npm start` (ng serve on :4200), proxy.conf.json forwards /netchan here.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exporter, exportChannel } from 'rx-netchan';
import 'rx-netchan/node';

const root = fileURLToPath(new URL('./dist/netchan-demo/browser/', import.meta.url));
const port = Number(process.env.PORT ?? 4300);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  let file = normalize(join(root, path === '/' ? 'index.html' : path));
  if (!file.startsWith(root)) file = join(root, 'index.html');
  const body = await readFile(file).catch(() => readFile(join(root, 'index.html')));
  res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'text/html' }).end(body);
});

const exporter = new Exporter({ transport: { server } });
const ticks = exportChannel(exporter, 'ticks', 'send', { queueLimit: 64, overflow: 'drop-oldest' });
exportChannel(exporter, 'commands', 'recv', { keepOpen: true }).subscribe((c) => console.log('command', c.seq, c.text));
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const { url } = await exporter.listen(`ws://127.0.0.1:${port}/netchan`);
let n = 0;
const timer = setInterval(() => ticks.next({ n: n++, at: new Date(), value: Math.round(10_000 + 500 * Math.sin(n / 5)) / 100 }), 250);
console.log(`http://127.0.0.1:${port}/  (exporter at ${url})`);

process.once('SIGINT', async () => {
  clearInterval(timer);
  await exporter.close();
  server.close();
});
