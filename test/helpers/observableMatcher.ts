// The matcher ships in rx-netchan/testing; specs here import it from this helper, as the README suggests users do.
export { observableMatcher } from '../../src/testing.js';
