//! The server side: one span of kind server per request, made with the OpenTelemetry API so
//! that no `RUST_LOG` level can filter it out (which would cut the trace in two), and made the
//! active context for the handler so its `tracing` spans become children.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::metrics::Histogram;
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, KeyValue};
use tower::{Layer, Service};

use crate::propagation::extract_context;

/// A tower [`Layer`] that traces HTTP requests (works with axum's `Router::layer`, where it also
/// sees the matched route as `http.route`) and records their duration in the
/// `http.server.request.duration` histogram. Make it after `init()`: its histogram comes from
/// the global meter provider of that moment.
#[derive(Debug, Clone)]
pub struct HttpServerTraceLayer {
    duration: Histogram<f64>,
}

impl Default for HttpServerTraceLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpServerTraceLayer {
    /// The layer.
    pub fn new() -> Self {
        Self {
            duration: super::duration_histogram(
                "http.server.request.duration",
                "Duration of HTTP server requests.",
            ),
        }
    }
}

impl<S> Layer<S> for HttpServerTraceLayer {
    type Service = HttpServerTrace<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HttpServerTrace {
            inner,
            duration: self.duration.clone(),
        }
    }
}

/// The service made by [`HttpServerTraceLayer`].
#[derive(Debug, Clone)]
pub struct HttpServerTrace<S> {
    inner: S,
    duration: Histogram<f64>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn header(req_headers: &http::HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    req_headers.get(name).and_then(|v| v.to_str().ok())
}

/// The matched route, from the `MatchedPath` extension of each axum version the features name.
/// axum 0.7 and 0.8 each insert their own type, so a router of a version whose feature is off
/// gives no route (and the span is named by the method alone).
fn route<B>(req: &http::Request<B>) -> Option<String> {
    #[cfg(feature = "axum")]
    if let Some(p) = req.extensions().get::<axum::extract::MatchedPath>() {
        return Some(p.as_str().to_string());
    }
    #[cfg(feature = "axum-07")]
    if let Some(p) = req.extensions().get::<axum07::extract::MatchedPath>() {
        return Some(p.as_str().to_string());
    }
    let _ = req;
    None
}

fn protocol_version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for HttpServerTrace<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqB>) -> Self::Future {
        let started = std::time::Instant::now();
        let parent = extract_context(req.headers());
        let method = req.method().as_str().to_string();
        let route = route(&req);
        // The histogram's attributes: the low-cardinality subset of the span's.
        let mut metric_attrs = vec![
            KeyValue::new("http.request.method", method.clone()),
            KeyValue::new(
                "url.scheme",
                req.uri().scheme_str().unwrap_or("http").to_string(),
            ),
            KeyValue::new("network.protocol.version", protocol_version(req.version())),
        ];
        if let Some(r) = &route {
            metric_attrs.push(KeyValue::new("http.route", r.clone()));
        }
        let name = match &route {
            Some(r) => format!("{method} {r}"),
            None => method.clone(),
        };
        let mut attrs = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("url.path", req.uri().path().to_string()),
            KeyValue::new(
                "url.scheme",
                req.uri().scheme_str().unwrap_or("http").to_string(),
            ),
            KeyValue::new("network.protocol.version", protocol_version(req.version())),
        ];
        if let Some(q) = req.uri().query() {
            attrs.push(KeyValue::new("url.query", q.to_string()));
        }
        if let Some(r) = route {
            attrs.push(KeyValue::new("http.route", r));
        }
        let host = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| header(req.headers(), http::header::HOST).map(str::to_string));
        if let Some(host) = host {
            match host.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() => {
                    attrs.push(KeyValue::new("server.address", h.to_string()));
                    attrs.push(KeyValue::new(
                        "server.port",
                        p.parse::<i64>().unwrap_or_default(),
                    ));
                }
                _ => attrs.push(KeyValue::new("server.address", host)),
            }
        }
        if let Some(ua) = header(req.headers(), http::header::USER_AGENT) {
            attrs.push(KeyValue::new("user_agent.original", ua.to_string()));
        }

        let tracer = global::tracer(super::SCOPE);
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attrs)
            .start_with_context(&tracer, &parent);
        let cx = parent.with_span(span);
        let fut = {
            let _active = cx.clone().attach();
            self.inner.call(req)
        };
        let duration = self.duration.clone();
        Box::pin(async move {
            let result = fut.with_context(cx.clone()).await;
            let span = cx.span();
            match &result {
                Ok(res) => {
                    let code = res.status().as_u16();
                    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
                    metric_attrs.push(KeyValue::new("http.response.status_code", i64::from(code)));
                    if code >= 500 {
                        span.set_status(Status::error(format!("HTTP {code}")));
                        metric_attrs.push(KeyValue::new("error.type", code.to_string()));
                    }
                }
                Err(e) => {
                    span.set_attribute(KeyValue::new("error.type", "service_error"));
                    span.set_status(Status::error(e.to_string()));
                    metric_attrs.push(KeyValue::new("error.type", "service_error"));
                }
            }
            span.end();
            // Recorded in the request's context, so an exemplar can point at its trace.
            let _active = cx.attach();
            duration.record(started.elapsed().as_secs_f64(), &metric_attrs);
            result
        })
    }
}
