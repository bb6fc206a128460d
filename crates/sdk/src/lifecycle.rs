//! How telemetry ends without losing anything: the pipeline `init()` installs belongs to the
//! process (an unbound guard cannot throw it away), every flush and shutdown is bounded by the
//! one shutdown timeout, and SIGTERM/SIGINT flush it, either for a program that stops itself
//! ([`shutdown_signal`]) or for one that the signal ends ([`TelemetryBuilder::exit_on_signal`]).
//!
//! [`TelemetryBuilder::exit_on_signal`]: crate::TelemetryBuilder::exit_on_signal

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

/// The providers of one pipeline and the one limit that bounds flushing and shutting them down.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) tracer: Option<SdkTracerProvider>,
    pub(crate) meter: Option<SdkMeterProvider>,
    pub(crate) logger: Option<SdkLoggerProvider>,
    pub(crate) timeout: Duration,
    pub(crate) state: Arc<LifecycleState>,
}

/// How a flush or shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything was exported.
    Done,
    /// An export failed (the exporter has logged why).
    Failed,
    /// The limit passed first.
    TimedOut,
}

impl Outcome {
    fn of(r: Option<bool>) -> Self {
        match r {
            Some(true) => Self::Done,
            Some(false) => Self::Failed,
            None => Self::TimedOut,
        }
    }

    /// Says so on stderr when the limit cut it short (failed exports are logged where they fail).
    pub(crate) fn report(self, what: &str, timeout: Duration) {
        if self == Self::TimedOut {
            eprintln!(
                "otel-inject-sdk: {what} did not finish within {timeout:?}; some telemetry may be lost"
            );
        }
    }
}

impl Pipeline {
    /// Exports everything finished so far, within the timeout.
    pub(crate) fn flush(&self) -> Outcome {
        let (t, m, l) = (self.tracer.clone(), self.meter.clone(), self.logger.clone());
        Outcome::of(run_bounded(self.timeout, move || flush_all(&t, &m, &l)))
    }

    /// Flushes, then shuts every provider down, all within the timeout.
    pub(crate) fn shutdown(&self) -> Outcome {
        let (t, m, l) = (self.tracer.clone(), self.meter.clone(), self.logger.clone());
        let timeout = self.timeout;
        let done = run_bounded(timeout, move || {
            let flushed = flush_all(&t, &m, &l);
            // Whatever the flush left of the limit goes to the shutdowns; they have nothing
            // left to export, so they are quick.
            let shut = [
                t.map(|p| p.shutdown_with_timeout(timeout).is_ok()),
                m.map(|p| p.shutdown_with_timeout(timeout).is_ok()),
                l.map(|p| p.shutdown_with_timeout(timeout).is_ok()),
            ];
            flushed && shut.iter().all(|s| s.unwrap_or(true))
        });
        Outcome::of(done)
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.tracer.is_some() || self.meter.is_some() || self.logger.is_some()
    }
}

fn flush_all(
    t: &Option<SdkTracerProvider>,
    m: &Option<SdkMeterProvider>,
    l: &Option<SdkLoggerProvider>,
) -> bool {
    // Logs first: a log record often explains the span that follows it.
    let results = [
        l.as_ref().map(|p| p.force_flush().is_ok()),
        t.as_ref().map(|p| p.force_flush().is_ok()),
        m.as_ref().map(|p| p.force_flush().is_ok()),
    ];
    results.iter().all(|r| r.unwrap_or(true))
}

/// Runs `f` on a thread of its own and waits for it at most `timeout`: no flush can hang the
/// caller, whatever runtime (or none) it is on.
pub(crate) fn run_bounded<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("otel-inject-flush".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    rx.recv_timeout(timeout).ok()
}

/// What the span processor needs to know about the guard: once no guard is left while the
/// program runs on (`let _ = init();`), nothing would flush at exit, so every finished local
/// root span (a request, a job) is flushed at once instead.
#[derive(Debug, Default)]
pub(crate) struct LifecycleState {
    guardless: AtomicBool,
    warned: AtomicBool,
    others: OnceLock<Others>,
}

/// The meter and logger providers, flushed with the spans in guardless mode.
#[derive(Debug)]
struct Others {
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
}

impl LifecycleState {
    pub(crate) fn set_others(
        &self,
        meter: Option<SdkMeterProvider>,
        logger: Option<SdkLoggerProvider>,
    ) {
        let _ = self.others.set(Others { meter, logger });
    }

    pub(crate) fn set_guardless(&self) {
        self.guardless.store(true, Ordering::Release);
    }
}

/// Wraps the batch span processor: in guardless mode a local root span's end flushes the
/// pipeline before the span's thread goes on.
#[derive(Debug)]
pub(crate) struct GuardAwareProcessor<P> {
    pub(crate) inner: P,
    pub(crate) state: Arc<LifecycleState>,
}

impl<P: SpanProcessor> SpanProcessor for GuardAwareProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let local_root = span.parent_span_id == opentelemetry::trace::SpanId::INVALID
            || span.parent_span_is_remote;
        self.inner.on_end(span);
        if local_root && self.state.guardless.load(Ordering::Acquire) {
            if !self.state.warned.swap(true, Ordering::AcqRel) {
                eprintln!(
                    "otel-inject-sdk: the guard init() returned was dropped while the program runs on \
                     (`let _ = init();`?): telemetry stays on, and each finished trace is now exported \
                     at once so that nothing is lost at exit; bind the guard \
                     (`let _telemetry = otel_inject_sdk::init();`) to export in batches"
                );
            }
            if let Some(o) = self.state.others.get() {
                if let Some(l) = &o.logger {
                    let _ = l.force_flush();
                }
            }
            let _ = self.inner.force_flush();
            if let Some(o) = self.state.others.get() {
                if let Some(m) = &o.meter {
                    let _ = m.force_flush();
                }
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The pipeline `init()` installed, which SIGTERM/SIGINT flush.
static INSTALLED: OnceLock<Arc<Pipeline>> = OnceLock::new();

pub(crate) fn install(pipeline: Arc<Pipeline>) {
    let _ = INSTALLED.set(pipeline);
}

fn flush_installed() {
    if let Some(p) = INSTALLED.get() {
        p.flush()
            .report("flushing telemetry on the termination signal", p.timeout);
    }
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C), for axum's
/// `serve(...).with_graceful_shutdown(otel_inject_sdk::shutdown_signal())`.
///
/// Calling it says that the program stops itself on these signals: the SDK then flushes what
/// is finished as the signal arrives (in the background, bounded by the shutdown timeout) and
/// leaves the rest to the guard, which flushes what the draining requests finish. A second
/// signal flushes once more and ends the process the way the signal would (exit status 143 for
/// SIGTERM, 130 for SIGINT). It needs no particular async runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let rx = signals::hub().map(|h| {
        h.claimed.store(true, Ordering::Release);
        h.received.subscribe()
    });
    async move {
        match rx {
            Some(mut rx) => {
                let _ = rx.wait_for(|v| v.is_some()).await;
            }
            None => std::future::pending::<()>().await,
        }
    }
}

/// Starts watching SIGTERM and SIGINT for a program that does not stop itself on them: the
/// signal then flushes and ends the process the way it would have without the SDK.
pub(crate) fn exit_on_signal() {
    if let Some(h) = signals::hub() {
        h.exit_unclaimed.store(true, Ordering::Release);
    }
}

#[cfg(unix)]
mod signals {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    pub(super) struct Hub {
        pub(super) received: tokio::sync::watch::Sender<Option<i32>>,
        /// The program stops itself on the first signal (it called `shutdown_signal`).
        pub(super) claimed: AtomicBool,
        /// The signal ends the process once flushed, unless the program claimed it.
        pub(super) exit_unclaimed: AtomicBool,
    }

    static HUB: OnceLock<Option<Hub>> = OnceLock::new();

    /// The process's one signal watcher, started on first use; `None` if the signals could
    /// not be registered.
    pub(super) fn hub() -> Option<&'static Hub> {
        HUB.get_or_init(start).as_ref()
    }

    fn start() -> Option<Hub> {
        let mut signals = match Signals::new([SIGTERM, SIGINT]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("otel-inject-sdk: cannot watch SIGTERM/SIGINT ({e}); telemetry is not flushed on them");
                return None;
            }
        };
        let (tx, _) = tokio::sync::watch::channel(None);
        let spawned = std::thread::Builder::new()
            .name("otel-inject-signals".into())
            .spawn(move || {
                // The hub is set as soon as this function returns.
                let Some(hub) = HUB.wait().as_ref() else {
                    return;
                };
                let mut seen = 0u32;
                for sig in signals.forever() {
                    seen += 1;
                    hub.received.send_replace(Some(sig));
                    super::flush_installed();
                    let claimed = hub.claimed.load(Ordering::Acquire);
                    let exit = if claimed {
                        seen >= 2
                    } else {
                        hub.exit_unclaimed.load(Ordering::Acquire) || seen >= 2
                    };
                    if exit {
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("otel-inject-sdk: cannot start the signal watcher ({e}); telemetry is not flushed on SIGTERM/SIGINT");
            return None;
        }
        Some(Hub {
            received: tx,
            claimed: AtomicBool::new(false),
            exit_unclaimed: AtomicBool::new(false),
        })
    }
}

#[cfg(not(unix))]
mod signals {
    use std::sync::atomic::AtomicBool;

    pub(super) struct Hub {
        pub(super) received: tokio::sync::watch::Sender<Option<i32>>,
        pub(super) claimed: AtomicBool,
        pub(super) exit_unclaimed: AtomicBool,
    }

    pub(super) fn hub() -> Option<&'static Hub> {
        None
    }
}
