//! inventory-api: `POST /reserve {"sku": "...", "quantity": n}` takes units out of stock.

use clap::Parser;
use otel_inject_examples::shop::{inventory_router, InventoryState};

#[derive(Debug, Parser)]
#[command(about = "Keeps stock and reserves it for orders-api")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "INVENTORY_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    /// Units every SKU starts with.
    #[arg(long, env = "INVENTORY_INITIAL_STOCK", default_value_t = 100)]
    initial_stock: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let telemetry = otel_inject_sdk::Telemetry::builder()
        .service_name("inventory-api")
        .service_version(env!("CARGO_PKG_VERSION"))
        .init();
    let app = inventory_router(InventoryState::new(args.initial_stock));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "inventory-api listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(otel_inject_sdk::shutdown_signal())
        .await?;
    tracing::info!("inventory-api stopped");
    // Flushes what the draining requests finished (bounded by the shutdown timeout).
    telemetry.shutdown().await;
    Ok(())
}
