//! The two shop services: `orders-api` takes orders and reserves stock in `inventory-api` over
//! HTTP, so one request makes one trace across both services.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use otel_inject_sdk::http::{send_traced, HttpServerTraceLayer};
use serde::{Deserialize, Serialize};

/// An order as clients send it, and the stock reservation orders-api asks inventory-api for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// inventory-api's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reservation {
    /// Whether the stock was reserved.
    pub reserved: bool,
    /// Units left after the reservation.
    pub remaining: u32,
}

/// orders-api's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderAccepted {
    /// The order's id.
    pub order_id: u64,
    /// The trace the order was handled in, for support requests.
    pub trace_id: Option<String>,
    /// Units left after the reservation.
    pub remaining: u32,
}

/// orders-api's state.
#[derive(Debug, Clone)]
pub struct OrdersState {
    /// Base URL of inventory-api.
    pub inventory_url: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    next_id: Arc<Mutex<u64>>,
}

impl OrdersState {
    /// State calling inventory-api at `inventory_url`.
    pub fn new(inventory_url: impl Into<String>, client: reqwest::Client) -> Self {
        Self {
            inventory_url: inventory_url.into().trim_end_matches('/').to_string(),
            client,
            next_id: Arc::new(Mutex::new(1)),
        }
    }
}

/// The orders-api router.
pub fn orders_router(state: OrdersState) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
        .layer(HttpServerTraceLayer::new())
}

#[tracing::instrument(name = "create_order", skip_all, fields(sku = %order.sku, quantity = order.quantity))]
async fn create_order(
    State(state): State<OrdersState>,
    Json(order): Json<OrderRequest>,
) -> Result<(StatusCode, Json<OrderAccepted>), (StatusCode, String)> {
    if order.quantity == 0 {
        return Err((
            StatusCode::BAD_REQUEST,
            "quantity must be at least 1".into(),
        ));
    }
    let url = format!("{}/reserve", state.inventory_url);
    let body = serde_json::to_vec(&order)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let request = state
        .client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    let response = send_traced(request).await.map_err(|e| {
        tracing::warn!(error = %e, %url, "inventory-api unreachable");
        (
            StatusCode::BAD_GATEWAY,
            format!("inventory-api unreachable: {e}"),
        )
    })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    if status == reqwest::StatusCode::CONFLICT {
        return Err((StatusCode::CONFLICT, "out of stock".into()));
    }
    if !status.is_success() {
        return Err((
            StatusCode::BAD_GATEWAY,
            format!("inventory-api answered {status}"),
        ));
    }
    let reservation: Reservation =
        serde_json::from_slice(&bytes).map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    let order_id = {
        let mut id = state.next_id.lock().map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "state poisoned".to_string(),
            )
        })?;
        let this = *id;
        *id += 1;
        this
    };
    tracing::info!(
        order_id,
        remaining = reservation.remaining,
        "order accepted"
    );
    Ok((
        StatusCode::CREATED,
        Json(OrderAccepted {
            order_id,
            trace_id: otel_inject_sdk::current_trace_id(),
            remaining: reservation.remaining,
        }),
    ))
}

/// inventory-api's stock, by SKU.
#[derive(Debug, Clone)]
pub struct InventoryState {
    initial: u32,
    stock: Arc<Mutex<HashMap<String, u32>>>,
}

impl InventoryState {
    /// A store where every SKU starts with `initial` units.
    pub fn new(initial: u32) -> Self {
        Self {
            initial,
            stock: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// The inventory-api router.
pub fn inventory_router(state: InventoryState) -> Router {
    Router::new()
        .route("/reserve", post(reserve))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
        .layer(HttpServerTraceLayer::new())
}

#[tracing::instrument(name = "reserve_stock", skip_all, fields(sku = %req.sku, quantity = req.quantity))]
async fn reserve(
    State(state): State<InventoryState>,
    Json(req): Json<OrderRequest>,
) -> Result<Json<Reservation>, (StatusCode, String)> {
    let mut stock = state.stock.lock().map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "state poisoned".to_string(),
        )
    })?;
    let left = stock.entry(req.sku.clone()).or_insert(state.initial);
    if *left < req.quantity {
        tracing::info!(available = *left, "not enough stock");
        return Err((StatusCode::CONFLICT, "out of stock".into()));
    }
    *left -= req.quantity;
    tracing::info!(remaining = *left, "stock reserved");
    Ok(Json(Reservation {
        reserved: true,
        remaining: *left,
    }))
}
