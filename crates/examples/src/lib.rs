//! Example programs built on otel-inject-sdk: an orders API that calls an inventory API (one
//! trace across both), and the train and evaluate steps of an ML pipeline that join the trace
//! their workflow started (`TRACEPARENT`). The shared, testable parts live here.
#![warn(missing_docs)]

pub mod ml;
pub mod shop;
