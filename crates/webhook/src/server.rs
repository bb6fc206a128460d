//! The HTTP side: the admission router behind a TLS listener with header-read, handshake and
//! request timeouts and graceful shutdown, and the plain-HTTP admin listener (`/metrics`,
//! `/healthz`, `/readyz`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ServerConfig;
use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tokio_rustls::TlsAcceptor;
use tower_http::{catch_panic::CatchPanicLayer, timeout::TimeoutLayer};

use crate::{admission::Admission, metrics::Metrics};

/// Largest review accepted. The API server caps objects at ~1.5 MiB of etcd storage; a review
/// carries the object once on CREATE (twice on UPDATE), so 3 MiB leaves headroom.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Timeouts of the TLS listener.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From TCP accept to a finished TLS handshake.
    pub handshake: Duration,
    /// For the request line and headers of each HTTP/1 request (slowloris, port scanners).
    pub header_read: Duration,
    /// For a whole request, body and decision included. The API server waits 10 s by default.
    pub request: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(5),
            header_read: Duration::from_secs(5),
            request: Duration::from_secs(10),
            drain: Duration::from_secs(25),
        }
    }
}

#[derive(Clone)]
struct AppState {
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
}

/// The admission router: `POST /mutate` and the operator's `POST /mutate-v1-pod`.
pub fn admission_router(
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
) -> Router {
    Router::new()
        .route("/mutate", post(mutate_handler))
        .route("/mutate-v1-pod", post(mutate_handler))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(AppState { admission, metrics })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // A backstop: the handler catches the decision's panics itself; this keeps the
        // connection alive and answers 500 if anything else ever panics.
        .layer(CatchPanicLayer::new())
}

fn bad_request(
    metrics: &Metrics,
    status: StatusCode,
    reason: &'static str,
    message: String,
) -> Response {
    metrics.invalid_request(reason);
    tracing::warn!(
        status = status.as_u16(),
        reason,
        "rejected request: {message}"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

fn is_json(headers: &HeaderMap) -> Result<(), String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(
            "missing Content-Type: send the AdmissionReview as application/json".to_string(),
        );
    };
    let text = value.to_str().unwrap_or("");
    let mime = text.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(format!(
            "unsupported Content-Type {text:?}: send the AdmissionReview as application/json"
        ))
    }
}

async fn mutate_handler(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let metrics = &state.metrics;
    if let Err(message) = is_json(&headers) {
        return bad_request(metrics, StatusCode::BAD_REQUEST, "content_type", message);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large(metrics);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            // to_bytes reports the limit through its error source chain.
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                return too_large(metrics);
            }
            return bad_request(
                metrics,
                StatusCode::BAD_REQUEST,
                "body_read",
                format!("could not read the request body: {e}"),
            );
        }
    };
    match state.admission.review_bytes(&bytes).await {
        Ok((review, record)) => {
            tracing::info!(
                uid = %record.uid,
                namespace = %record.namespace,
                pod = %record.pod,
                outcome = record.outcome,
                reason = record.reason,
                "{}",
                record.summary
            );
            let body = serde_json::to_vec(&review).unwrap_or_default();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(invalid) => bad_request(
            metrics,
            StatusCode::BAD_REQUEST,
            invalid.reason(),
            invalid.to_string(),
        ),
    }
}

fn too_large(metrics: &Metrics) -> Response {
    bad_request(
        metrics,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "request body larger than {} MiB: an AdmissionReview is never that large",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    )
}

/// The admin router: metrics and probes, plain HTTP.
pub fn admin_router(admission: Arc<Admission>, metrics: Arc<Metrics>) -> Router {
    let for_ready = admission.clone();
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let admission = admission.clone();
                let metrics = metrics.clone();
                async move {
                    metrics.set_cache_sizes(&admission.view().cache_sizes());
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let admission = for_ready.clone();
                async move {
                    match admission.view().readiness() {
                        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
                        Err(why) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready: {why}\n"),
                        ),
                    }
                }
            }),
        )
}

/// A shutdown trigger shared by the listeners: SIGTERM in the binary, a call in tests.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// Not triggered yet.
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// Starts the graceful shutdown.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Resolves once triggered.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // Only an error if the sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` fires, then stops accepting, lets
/// every open connection finish its in-flight requests (up to `timeouts.drain`) and returns.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    timeouts: Timeouts,
    shutdown: Shutdown,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.wait() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let builder = builder.clone();
                let shutdown = shutdown.clone();
                connections.spawn(async move {
                    serve_connection(tcp, peer, acceptor, builder, service, timeouts, shutdown).await;
                });
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(timeouts.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "shutdown: {} connections still open after {:?}; closing them",
            connections.len(),
            timeouts.drain
        );
        connections.shutdown().await;
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    builder: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    service: hyper_util::service::TowerToHyperService<Router>,
    timeouts: Timeouts,
    shutdown: Shutdown,
) {
    let tls = tokio::select! {
        r = tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        () = shutdown.wait() => return,
    };
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, "connection ended with an error: {e}");
            }
        }
        () = shutdown.wait() => {
            // Finish in-flight requests, refuse new ones on this connection, then close.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Serves the admin router until `shutdown` fires.
pub async fn serve_admin(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}
