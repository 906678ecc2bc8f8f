// rx-netchan/otel: OpenTelemetry metrics for an Exporter or an Importer.
// Needs @opentelemetry/api (an optional peer dependency) and an SDK set up by the application.
export { instrument } from './otel/instrument.js';
export type { InstrumentConfig } from './otel/instrument.js';
