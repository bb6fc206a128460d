// otel-inject's Node.js agent entry point, what the injected
// NODE_OPTIONS=" --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js" loads before
// the app: it starts the OpenTelemetry NodeSDK with every instrumentation of
// @opentelemetry/auto-instrumentations-node, as the operator's autoinstrumentation.ts did.
//
// Exporters, sampler, propagators and resource come from the standard OTEL_* variables that the
// injection writes: the SDK reads OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER /
// OTEL_LOGS_EXPORTER (otlp by default), OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default)
// and OTEL_EXPORTER_OTLP_ENDPOINT itself. Resource detectors follow
// OTEL_NODE_RESOURCE_DETECTORS (all of them by default). A failure to start never stops the app.
'use strict';

const { diag, DiagConsoleLogger, DiagLogLevel } = require('@opentelemetry/api');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const {
  getNodeAutoInstrumentations,
  getResourceDetectors,
} = require('@opentelemetry/auto-instrumentations-node');

const level = (process.env.OTEL_LOG_LEVEL || '').trim().toUpperCase();
if (level !== '' && Object.prototype.hasOwnProperty.call(DiagLogLevel, level)) {
  diag.setLogger(new DiagConsoleLogger(), { logLevel: DiagLogLevel[level] });
}

let sdk;
try {
  sdk = new NodeSDK({
    instrumentations: [getNodeAutoInstrumentations()],
    resourceDetectors: getResourceDetectors(),
  });
  sdk.start();
  diag.info('otel-inject: OpenTelemetry auto-instrumentation started');
} catch (err) {
  sdk = undefined;
  diag.error('otel-inject: the OpenTelemetry SDK did not start; the app runs uninstrumented', err);
}

let stopping;
function shutdown() {
  if (sdk === undefined) return Promise.resolve();
  // Once: SIGTERM and beforeExit can both come.
  stopping = stopping || sdk.shutdown().catch((err) => diag.error('otel-inject: SDK shutdown failed', err));
  return stopping;
}

// Flush what is buffered when the pod is stopped. A SIGTERM listener takes away Node's default
// (exit at once), so when the app has no listener of its own the process still exits, after
// the flush, with the status a SIGTERM gives.
process.once('SIGTERM', () => {
  shutdown().finally(() => {
    if (process.listenerCount('SIGTERM') === 0) process.exit(128 + 15);
  });
});
process.once('beforeExit', shutdown);
