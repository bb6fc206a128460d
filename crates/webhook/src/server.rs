//! The HTTP side: the admission router behind a TLS listener with header-read, handshake and
//! request timeouts and graceful shutdown, and the plain-HTTP admin listener (`/metrics`,
//! `/healthz`, `/readyz`).

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

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
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::{watch, Semaphore},
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;
use tower_http::{catch_panic::CatchPanicLayer, timeout::TimeoutLayer};

use crate::{admission::Admission, metrics::Metrics};

/// Largest review accepted. The API server caps objects at ~1.5 MiB of etcd storage; a review
/// carries the object once on CREATE (twice on UPDATE), so 3 MiB leaves headroom.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// Reviews up to this size are decided on the connection's worker thread when the cluster view
/// never blocks ([`ClusterView::reads_never_block`]): a review of this size (a pod with 54
/// containers) is read, decided and answered in well under a millisecond (its decision alone
/// 0.25 ms). Larger ones go to the blocking pool.
///
/// [`ClusterView::reads_never_block`]: crate::cluster::ClusterView::reads_never_block
pub const INLINE_DECISION_MAX_BYTES: usize = 32 * 1024;

/// Timeouts and limits of the TLS listener. Every connection is bounded in time whatever the
/// client does: silent after the handshake, idle between requests, or not reading what it is
/// sent.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From TCP accept to a finished TLS handshake.
    pub handshake: Duration,
    /// For the request line and headers of each HTTP/1 request (slowloris, port scanners), and
    /// from the handshake to the first byte of the first request on any connection.
    pub header_read: Duration,
    /// For a whole request, body and decision included. The API server waits 10 s by default.
    pub request: Duration,
    /// A connection that has sent nothing for this long is closed (HTTP/2: with a GOAWAY).
    /// Never shorter than `request`, so a request being decided is not cut.
    pub idle: Duration,
    /// A client that reads nothing of what it is sent for this long is disconnected.
    pub write: Duration,
    /// On shutdown, how long the listener goes on serving (with `/readyz` failing) so that the
    /// endpoints drop the pod before anything is refused.
    pub shutdown_delay: Duration,
    /// How long shutdown then waits for in-flight requests.
    pub drain: Duration,
    /// Open connections at most; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Reviews decided at once, each on the blocking pool (never on an async worker, so the
    /// health endpoints and other connections never wait behind a heavy review); more wait
    /// for a slot, within their request timeout. Bounds the memory of decisions in flight.
    pub max_reviews: usize,
}

/// Two reviews per core: a decision is CPU work of well under a millisecond, except for the
/// rare owner lookup that waits on the API server.
pub fn default_max_reviews() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(5),
            header_read: Duration::from_secs(5),
            request: Duration::from_secs(10),
            idle: Duration::from_secs(90),
            write: Duration::from_secs(10),
            shutdown_delay: Duration::from_secs(5),
            drain: Duration::from_secs(20),
            max_connections: 1024,
            max_reviews: default_max_reviews(),
        }
    }
}

#[derive(Clone)]
struct AppState {
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    decisions: Arc<Semaphore>,
}

/// The admission router: `POST /mutate` and the operator's `POST /mutate-v1-pod`.
pub fn admission_router(
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    max_reviews: usize,
) -> Router {
    let decisions = Arc::new(Semaphore::new(max_reviews.max(1)));
    let counted = metrics.clone();
    Router::new()
        .route("/mutate", post(mutate_handler))
        .route("/mutate-v1-pod", post(mutate_handler))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(AppState {
            admission,
            metrics,
            decisions,
        })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // Outside the timeout, so that the 408 it answers is counted like every other 4xx.
        .layer(axum::middleware::map_response(move |r: Response| {
            let metrics = counted.clone();
            async move {
                if r.status() == StatusCode::REQUEST_TIMEOUT {
                    metrics.invalid_request("request_timeout");
                }
                r
            }
        }))
        // A backstop: the handler catches the decision's panics itself; this keeps the
        // connection alive and answers 500 if anything else ever panics.
        .layer(CatchPanicLayer::new())
}

async fn not_found(State(state): State<AppState>) -> Response {
    bad_request(
        &state.metrics,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such path: AdmissionReviews go to POST /mutate (or /mutate-v1-pod)".into(),
    )
}

async fn method_not_allowed(State(state): State<AppState>) -> Response {
    bad_request(
        &state.metrics,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "AdmissionReviews are sent with POST".into(),
    )
}

/// `text` with control characters escaped (`\u{1b}`), for log lines: request fields (a uid,
/// a pod name, a bad annotation quoted in a reason) are the client's, and a raw escape sequence
/// or newline would forge or garble lines of the text log.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
        "rejected request: {}",
        printable(&message)
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
    // A slot first (waiting counts against the request timeout), then the decision. A small
    // review against a view whose reads never block is decided here, on the connection's
    // worker: it takes well under a millisecond, and the two thread hand-offs of the blocking
    // pool cost more CPU than the decision itself (bench/load.sh: ~100 us of ~400 us per review).
    // Anything else goes to the blocking pool, where a slow view or a huge pod holds up no
    // other request; if the timeout answers 408 meanwhile, the decision still finishes there
    // and only then frees its slot: what is in flight stays bounded.
    let Ok(slot) = state.decisions.clone().acquire_owned().await else {
        return internal_error(metrics);
    };
    let admission = state.admission.clone();
    let decided =
        if bytes.len() <= INLINE_DECISION_MAX_BYTES && admission.view().reads_never_block() {
            let _slot = slot;
            admission.review_bytes(&bytes).await
        } else {
            let runtime = tokio::runtime::Handle::current();
            let decided = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                runtime.block_on(admission.review_bytes(&bytes))
            })
            .await;
            let Ok(decided) = decided else {
                return internal_error(metrics);
            };
            decided
        };
    match decided {
        Ok((review, record)) => {
            tracing::info!(
                uid = %printable(&record.uid),
                namespace = %printable(&record.namespace),
                pod = %printable(&record.pod),
                outcome = record.outcome,
                reason = record.reason,
                "{}",
                printable(&record.summary)
            );
            let body = serde_json::to_vec(&review).unwrap_or_default();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(invalid) => {
            let status = match invalid {
                crate::admission::InvalidReview::TooManyValues(_) => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            bad_request(metrics, status, invalid.reason(), invalid.to_string())
        }
    }
}

/// The decision task died (a panic outside the decision's own guard): nothing to answer with
/// but a 500, which the API server's failurePolicy Ignore turns into an admitted pod.
fn internal_error(metrics: &Metrics) -> Response {
    metrics.invalid_request("internal_error");
    tracing::error!("the review task failed; answered 500");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "otel-inject: internal error\n",
    )
        .into_response()
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

/// The admin router: metrics and probes, plain HTTP. `/readyz` fails as soon as `shutdown` is
/// triggered, while the listeners still serve, so that the pod leaves the endpoints first.
pub fn admin_router(
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> Router {
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
                let shutdown = shutdown.clone();
                async move {
                    if shutdown.is_triggered() {
                        return (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "not ready: shutting down\n".to_string(),
                        );
                    }
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

/// What a connection has done, for its idle and write timeouts.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last byte read; `u64::MAX` before the first.
    last_read_ms: AtomicU64,
    /// Milliseconds since `start` of the last byte written (an answer still going out to a
    /// slow but reading client is not idleness); 0 before the first.
    last_write_ms: AtomicU64,
    /// Milliseconds since `start` since when a write has been waiting; `u64::MAX` when none is.
    write_blocked_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_read_ms: AtomicU64::new(u64::MAX),
            last_write_ms: AtomicU64::new(0),
            write_blocked_ms: AtomicU64::new(u64::MAX),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, t: &Timeouts) -> Option<&'static str> {
        let now = self.now_ms();
        let blocked = self.write_blocked_ms.load(Ordering::Relaxed);
        if blocked != u64::MAX && now.saturating_sub(blocked) > t.write.as_millis() as u64 {
            return Some("write_timeout");
        }
        let last = self.last_read_ms.load(Ordering::Relaxed);
        if last == u64::MAX {
            return (now > t.header_read.as_millis() as u64).then_some("no_request");
        }
        let idle = t.idle.max(t.request).as_millis() as u64;
        let active = last.max(self.last_write_ms.load(Ordering::Relaxed));
        (now.saturating_sub(active) > idle).then_some("idle")
    }
}

/// The TLS stream with its reads and blocked writes recorded in an [`Activity`].
struct Tracked<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.activity.now_ms();
            self.activity.last_read_ms.store(now, Ordering::Relaxed);
        }
        r
    }
}

impl<T> Tracked<T> {
    fn note_write<R>(&self, r: &Poll<R>) {
        let blocked = &self.activity.write_blocked_ms;
        match r {
            Poll::Pending => {
                if blocked.load(Ordering::Relaxed) == u64::MAX {
                    blocked.store(self.activity.now_ms(), Ordering::Relaxed);
                }
            }
            Poll::Ready(_) => blocked.store(u64::MAX, Ordering::Relaxed),
        }
    }

    /// Bytes went out (a flush that had nothing to do is not activity: hyper polls it idly).
    fn note_written(&self, r: &Poll<std::io::Result<usize>>) {
        if matches!(r, Poll::Ready(Ok(n)) if *n > 0) {
            let now = self.activity.now_ms();
            self.activity.last_write_ms.store(now, Ordering::Relaxed);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note_write(&r);
        self.note_written(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note_write(&r);
        self.note_written(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.note_write(&r);
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
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

    /// Whether it has been triggered.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once triggered.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // Only an error if the sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` fires, then stops accepting, lets
/// every open connection finish its in-flight requests (up to `timeouts.drain`; HTTP/2 gets a
/// GOAWAY) and returns. At most `timeouts.max_connections` are open at once.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    timeouts: Timeouts,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    // No server pings on HTTP/2: a peer that sends nothing is closed by the idle timeout, and
    // pings answered would keep a useless connection open for ever.
    builder.http2().timer(TokioTimer::new());
    let slots = Arc::new(Semaphore::new(timeouts.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // A free slot first: past the cap, connections wait in the kernel's accept queue.
        let slot = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            accepted = listener.accept() => accepted,
        };
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
        let metrics = metrics.clone();
        connections.spawn(async move {
            metrics.open_connections.inc();
            let ended =
                serve_connection(tcp, peer, acceptor, builder, service, timeouts, shutdown).await;
            metrics.open_connections.dec();
            metrics.connection_closed(ended);
            drop(slot);
        });
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

/// Serves one connection; returns how it ended (a metric label).
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    builder: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    service: hyper_util::service::TowerToHyperService<Router>,
    timeouts: Timeouts,
    shutdown: Shutdown,
) -> &'static str {
    let tls = tokio::select! {
        r = tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return "handshake_failed";
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return "handshake_timeout";
            }
        },
        () = shutdown.wait() => return "shutdown",
    };
    let activity = Arc::new(Activity::new());
    let io = Tracked {
        io: tls,
        activity: activity.clone(),
    };
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    // How often the timeouts are looked at: a fraction of the shortest, within 10 ms .. 1 s.
    let shortest = timeouts
        .header_read
        .min(timeouts.write)
        .min(timeouts.idle.max(timeouts.request));
    let mut tick = tokio::time::interval(
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, "connection ended with an error: {e}");
                    return "error";
                }
                return "closed";
            }
            () = shutdown.wait() => {
                // Finish in-flight requests, refuse new ones on this connection, then close.
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
                return "shutdown";
            }
            _ = tick.tick() => match activity.expired(&timeouts) {
                None => {}
                Some("write_timeout") => {
                    // The client reads nothing: nothing graceful can reach it. Drop it.
                    tracing::debug!(%peer, "client not reading for {:?}: disconnected", timeouts.write);
                    return "write_timeout";
                }
                Some(reason) => {
                    tracing::debug!(%peer, reason, "idle connection closed");
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(1), conn.as_mut()).await;
                    return reason;
                }
            },
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

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_never_reach_a_log_line_raw() {
        assert_eq!(printable("plain-pod"), "plain-pod");
        let forged = "pod\n2026-12-01T00:00:00Z INFO forged line \u{1b}[31mred";
        let shown = printable(forged);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(
            shown,
            "pod\\u{a}2026-12-01T00:00:00Z INFO forged line \\u{1b}[31mred"
        );
        assert_eq!(printable("ünïcode stays"), "ünïcode stays");
    }
}
