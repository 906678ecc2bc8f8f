import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Where screenshots and the bundled page go (git-ignored). */
export const RESULTS = join(REPO, 'test-results', 'e2e');
/** The plain page, bundled by globalSetup. */
export const PAGE_DIR = join(RESULTS, 'page');
export const ANGULAR_DIR = join(REPO, 'examples', 'angular');
/** `ng build` output of examples/angular. */
export const ANGULAR_DIST = join(ANGULAR_DIR, 'dist', 'netchan-demo', 'browser');
