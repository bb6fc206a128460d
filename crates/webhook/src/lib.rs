//! otel-inject: the webhook runtime and offline CLI around `otel-inject-lib`.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that the integration tests
//! drive the same server, TLS and cluster-view code in-process.

pub mod admission;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod controller;
pub mod logging;
pub mod manifest;
pub mod metrics;
pub mod offline;
pub mod selfsigned;
pub mod serve;
pub mod server;
pub mod status;
pub mod tls;
pub mod yaml;
