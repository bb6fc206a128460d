//! Example programs built on otel-inject-sdk: an orders API that calls an inventory API (one
//! trace across both), and the train and evaluate steps of an ML pipeline that join the trace
//! their workflow started (`TRACEPARENT`). The shared, testable parts live here.
#![warn(missing_docs)]

pub mod ml;
pub mod shop;

/// Waits for Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
