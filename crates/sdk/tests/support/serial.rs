//! One in-process telemetry pipeline at a time, for tests that build several.
//!
//! tracing-core (0.1.36) can deadlock when one thread registers a new `Dispatch` (what
//! `Telemetry::build` does) while another drops the last reference to its own: the drop can
//! happen inside the registration, which holds the dispatcher list's write lock, and the
//! dropped pipeline logs (opentelemetry_sdk's provider shutdown) through a callsite seen for the
//! first time, whose registration then waits for that same lock. A program builds its pipeline
//! once and never meets it; a test binary whose tests run in parallel does. Each test that
//! builds a pipeline holds this lock until its dispatch is gone.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

pub fn telemetry_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
