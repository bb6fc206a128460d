//! The `otel-inject` binary.

use std::process::ExitCode;

use clap::Parser;
use otel_inject::{
    cli::{Cli, Command},
    commands, logging,
};

// A review is parsed into thousands of small JSON nodes and freed again; mimalloc's
// thread-local free lists make that markedly cheaper than glibc's malloc under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // First, before anything touches TLS: one process-wide provider, ring. kube's client and
    // our listener both use it; a second provider compiled in would make rustls panic.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    logging::init(cli.log_format, &cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads(&cli.command))
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otel-inject: cannot start the async runtime: {e}");
            return ExitCode::from(otel_inject::cli::exit::FAILURE);
        }
    };
    ExitCode::from(runtime.block_on(commands::run(cli.command)))
}

/// The blocking pool's size. `serve` decides each review on it, at most `max_reviews` at a
/// time (server.rs); a pool of that size, plus two threads for file writes, keeps the thread
/// count bounded, and with it the memory mimalloc keeps per thread. Unbounded, tokio started a
/// new thread whenever a review arrived while the last one was still winding down: ~20 threads
/// at 8 connections, and RSS from 25 to 70 MiB. Other commands keep tokio's default.
fn blocking_threads(command: &Command) -> usize {
    match command {
        Command::Serve(args) => args.timeouts.max_reviews().max(1) + 2,
        _ => 512,
    }
}
