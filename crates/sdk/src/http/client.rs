//! The client side, for reqwest: a client span per request whose context travels in the
//! request headers, so the server's span becomes its child.

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};

use crate::propagation::inject_context;

/// Adds the current context's propagation headers to a reqwest request (no client span; see
/// [`send_traced`] for that).
pub trait RequestBuilderExt {
    /// Injects [`Context::current`] with the global propagator.
    fn with_current_context(self) -> Self;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn with_current_context(self) -> Self {
        let mut headers = http::HeaderMap::new();
        inject_context(&Context::current(), &mut headers);
        self.headers(headers)
    }
}

/// A request [`send_traced`] can send: a reqwest **0.13** `RequestBuilder`. Any other reqwest
/// major fails to compile with a message that says so, rather than "expected
/// `RequestBuilder`, found `RequestBuilder`".
///
/// ```compile_fail
/// # async fn f() {
/// // Not a reqwest 0.13 request: a compile error that names the version to use.
/// let _ = otel_inject_sdk::http::send_traced("http://inventory/reserve").await;
/// # }
/// ```
///
/// ```no_run
/// # async fn f() -> Result<(), otel_inject_sdk::reqwest::Error> {
/// let client = otel_inject_sdk::reqwest::Client::new();
/// let res = otel_inject_sdk::http::send_traced(client.get("http://inventory/stock")).await?;
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`send_traced` takes a reqwest 0.13 `RequestBuilder`, and this is `{Self}`",
    label = "not a reqwest 0.13 RequestBuilder",
    note = "build the client with `otel_inject_sdk::reqwest::Client` (reqwest 0.13), or depend on reqwest = \"0.13\" (check with `cargo tree -i reqwest`)"
)]
pub trait TracedRequest: sealed::Sealed {
    #[doc(hidden)]
    fn into_reqwest(self) -> reqwest::RequestBuilder;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::RequestBuilder {}
}

impl TracedRequest for reqwest::RequestBuilder {
    fn into_reqwest(self) -> reqwest::RequestBuilder {
        self
    }
}

/// Sends `request` inside a client span (child of the current context), with the span's context
/// injected into the headers and the HTTP semantic-convention attributes recorded.
///
/// The request's duration goes to the `http.client.request.duration` histogram (until the
/// response headers arrive, as the semantic conventions measure it).
pub async fn send_traced(request: impl TracedRequest) -> reqwest::Result<reqwest::Response> {
    let started = std::time::Instant::now();
    let (client, request) = request.into_reqwest().build_split();
    let mut request = request?;
    let method = request.method().as_str().to_string();
    let url = request.url();
    let mut metric_attrs = vec![KeyValue::new("http.request.method", method.clone())];
    if let Some(host) = url.host_str() {
        metric_attrs.push(KeyValue::new("server.address", host.to_string()));
    }
    if let Some(port) = url.port_or_known_default() {
        metric_attrs.push(KeyValue::new("server.port", i64::from(port)));
    }
    let mut attrs = vec![
        KeyValue::new("http.request.method", method.clone()),
        KeyValue::new("url.full", redact_userinfo(url)),
    ];
    if let Some(host) = url.host_str() {
        attrs.push(KeyValue::new("server.address", host.to_string()));
    }
    if let Some(port) = url.port_or_known_default() {
        attrs.push(KeyValue::new("server.port", i64::from(port)));
    }
    let tracer = global::tracer(super::SCOPE);
    let parent = Context::current();
    let span = tracer
        .span_builder(method)
        .with_kind(SpanKind::Client)
        .with_attributes(attrs)
        .start_with_context(&tracer, &parent);
    let cx = parent.with_span(span);
    inject_context(&cx, request.headers_mut());
    let result = client.execute(request).with_context(cx.clone()).await;
    let span = cx.span();
    match &result {
        Ok(res) => {
            let code = res.status().as_u16();
            span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
            metric_attrs.push(KeyValue::new("http.response.status_code", i64::from(code)));
            if code >= 400 {
                span.set_attribute(KeyValue::new("error.type", code.to_string()));
                span.set_status(Status::error(format!("HTTP {code}")));
                metric_attrs.push(KeyValue::new("error.type", code.to_string()));
            }
        }
        Err(e) => {
            span.set_attribute(KeyValue::new("error.type", error_type(e)));
            span.set_status(Status::error(e.to_string()));
            metric_attrs.push(KeyValue::new("error.type", error_type(e)));
        }
    }
    span.end();
    let _active = cx.clone().attach();
    super::duration_histogram(
        "http.client.request.duration",
        "Duration of HTTP client requests.",
    )
    .record(started.elapsed().as_secs_f64(), &metric_attrs);
    result
}

fn error_type(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    }
}

fn redact_userinfo(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_username("REDACTED");
        let _ = u.set_password(Some("REDACTED"));
    }
    u.to_string()
}
