//! The `otel-inject` binary.

use std::process::ExitCode;

use clap::Parser;
use otel_inject::{cli::Cli, commands, logging};

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
