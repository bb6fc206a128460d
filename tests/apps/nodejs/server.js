// A small HTTP app on Node's own `http` module, which the OpenTelemetry Node.js agent
// instruments (@opentelemetry/instrumentation-http): otel-inject's e2e tests run it with the
// agent that the injection adds through NODE_OPTIONS, and nothing of OpenTelemetry in the app.
//
//   GET /hello   200 "hello from nodejs"
//   GET /healthz 200 "ok"
//
// Listens on 0.0.0.0:$PORT (default 8080).
'use strict';

const http = require('http');

const port = Number(process.env.PORT || 8080);
const routes = { '/hello': 'hello from nodejs\n', '/healthz': 'ok\n' };

const server = http.createServer((req, res) => {
  const body = routes[req.url];
  const status = body === undefined ? 404 : req.method === 'GET' ? 200 : 405;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body || 'not found\n');
});

server.listen(port, '0.0.0.0', () => console.log(`hello-nodejs listening on ${port}`));
// Stop accepting on SIGTERM; the agent flushes its spans before the process exits.
process.on('SIGTERM', () => server.close());
