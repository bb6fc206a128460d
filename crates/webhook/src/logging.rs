//! Logging to standard error (standard output belongs to the offline commands' results).

use std::io::IsTerminal;

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use crate::cli::LogFormat;

/// Installs the global subscriber. `filter` uses EnvFilter syntax; an invalid one falls back
/// to `info` with a note, rather than refusing to start.
pub fn init(format: LogFormat, filter: &str) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        // Colours only for a person at a terminal: escape codes in a file or a log
        // collector are noise.
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if result.is_ok() {
        if let Some(e) = bad {
            tracing::warn!("invalid log filter ({e}); using `info`");
        }
    }
}
