// npm 11 here writes package-lock.json without the entries of optional
// platform packages that do not match this machine (rollup's and esbuild's
// native binaries for other systems), and `npm ci` then rejects the lockfile
// ("Missing: @rollup/rollup-android-arm64@ from lock file"). This adds an entry
// for every optional dependency named by a locked package and missing from the
// lock. The registry reached from here does not serve those packages, so the
// entry carries version, optional, and the os/cpu/libc read from the package
// name (they all follow <os>-<cpu>[-<libc>]); that is what npm ci checks to skip
// them, and it never fetches a package whose platform does not match.
// Usage: node scripts/complete-lockfile.mjs [path/to/package-lock.json]
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (pkgs[base] || pkgs[`node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform) {
      console.error(`cannot tell the platform of ${name}; left out`);
      continue;
    }
    pkgs[`node_modules/${name}`] = { version: String(range).replace(/^[~^=]/, ''), ...platform, optional: true };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`${file}: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}`);

/** `@rollup/rollup-linux-x64-musl` -> { os: ['linux'], cpu: ['x64'], libc: ['musl'] }. */
function platformOf(name) {
  const OS = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32'];
  const CPU = ['arm', 'arm64', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'x64'];
  const parts = name.split('/').pop().split('-');
  const i = parts.findIndex((p) => OS.includes(p));
  if (i < 0 || !CPU.includes(parts[i + 1])) return null;
  const out = { os: [parts[i]], cpu: [parts[i + 1]] };
  const libc = parts.slice(i + 2).find((p) => p === 'gnu' || p === 'musl');
  if (libc) out.libc = [libc === 'gnu' ? 'glibc' : 'musl'];
  return out;
}
