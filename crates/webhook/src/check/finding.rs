//! One line of `otel-inject check`: what was looked at, whether it is fine, and what to do when
//! it is not. Every classifier in `check/` returns these; only `check.rs` prints them.

use std::fmt::Write as _;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// As it should be.
    Ok,
    /// Works, but something will go wrong, or already goes wrong for some workloads.
    Warn,
    /// Broken: pods are not injected, or not as the Instrumentation says.
    Fail,
}

impl Level {
    /// `ok`, `warn`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check: `crd`, `webhook-configuration`, `endpoints`, `namespace-exclusion`,
    /// `certificate`, `certificate-expiry`, `webhook-answer`, `instrumentation`, `annotations`.
    pub check: &'static str,
    /// ok, warn or fail.
    pub level: Level,
    /// What was found, naming the object.
    pub what: String,
    /// What to do (none for `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// An `ok` line.
    pub fn ok(check: &'static str, what: impl Into<String>) -> Self {
        Self {
            check,
            level: Level::Ok,
            what: what.into(),
            fix: None,
        }
    }

    /// A `warn` line with its fix.
    pub fn warn(check: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            level: Level::Warn,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    /// A `fail` line with its fix.
    pub fn fail(check: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            level: Level::Fail,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The worst level among `findings` (`Ok` when there are none).
pub fn worst(findings: &[Finding]) -> Level {
    findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok)
}

/// `ok    what` / `warn  what  — fix`, one per line, then a count.
pub fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = write!(out, "{:<4}  {}", f.level.as_str(), f.what);
        if let Some(fix) = &f.fix {
            let _ = write!(out, "  — {fix}");
        }
        out.push('\n');
    }
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    let _ = writeln!(
        out,
        "{} ok, {} warn, {} fail",
        count(Level::Ok),
        count(Level::Warn),
        count(Level::Fail)
    );
    out
}
