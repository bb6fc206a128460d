"""A small Flask app, which the OpenTelemetry Python agent instruments
(opentelemetry-instrumentation-flask): otel-inject's e2e tests run it with the agent that the
injection adds through PYTHONPATH (its sitecustomize starts the SDK), and nothing of
OpenTelemetry in the app itself.

  GET /hello   200 "hello from python"
  GET /healthz 200 "ok"

Listens on 0.0.0.0:$PORT (default 8080), on Werkzeug's threaded server.
"""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello from python\n", 200, {"content-type": "text/plain; charset=utf-8"}


@app.get("/healthz")
def healthz():
    return "ok\n", 200, {"content-type": "text/plain; charset=utf-8"}


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"hello-python listening on {port}", flush=True)
    # No reloader: it would start the app (and the agent) twice.
    app.run(host="0.0.0.0", port=port, threaded=True, use_reloader=False)
