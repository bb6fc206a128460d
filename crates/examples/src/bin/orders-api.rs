//! orders-api: `POST /orders {"sku": "...", "quantity": n}` reserves stock in inventory-api.

use clap::Parser;
use otel_inject_examples::shop::{orders_router, OrdersState};

#[derive(Debug, Parser)]
#[command(about = "Takes orders and reserves stock in inventory-api")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ORDERS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Base URL of inventory-api.
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8081")]
    inventory_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let telemetry = otel_inject_sdk::Telemetry::builder()
        .service_name("orders-api")
        .service_version(env!("CARGO_PKG_VERSION"))
        .init();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let app = orders_router(OrdersState::new(args.inventory_url.clone(), client));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, inventory = %args.inventory_url, "orders-api listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(otel_inject_sdk::shutdown_signal())
        .await?;
    tracing::info!("orders-api stopped");
    // Flushes what the draining requests finished (bounded by the shutdown timeout).
    telemetry.shutdown().await;
    Ok(())
}
