//! The relay's HTTP surface: the app itself, the sync WebSocket and a health check.

use crate::AppState;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use shared::protocol::MAX_FRAME_BYTES;
use std::path::Path;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// All routes, assembled in one place.
pub fn router(state: AppState, dist: &Path) -> Router {
    // Unknown paths (e.g. a link to `/case/<id>`) get the app, which routes in the browser.
    let app = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    Router::new()
        .route("/sync", get(sync))
        .route("/health", get(health))
        .fallback_service(app)
        // The service worker and the page must be revalidated so updates reach people.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // The app's wasm is ~1.5 MB raw and ~0.5 MB with brotli: it matters on a phone signal.
        .layer(CompressionLayer::new())
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    if state.health.is_ok() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "storage is failing").into_response()
    }
}

/// The automerge-repo WebSocket. Until access control lands, any client may sync any case
/// whose id it knows.
async fn sync(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    if !state.health.is_ok() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The relay cannot store changes right now. Your changes are safe on your device; try again shortly.",
        )
            .into_response();
    }
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| accept(state, socket))
}

/// Hands the socket to samod as a byte transport that ends when storage fails.
async fn accept(state: AppState, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let health = state.health.clone();
    let inbound = stream
        .filter_map(|msg| async move {
            match msg {
                Ok(WsMessage::Binary(bytes)) => Some(Ok(bytes.to_vec())),
                // The protocol is binary CBOR; text frames are malformed input.
                Ok(WsMessage::Text(_)) => Some(Err(TransportError::Text)),
                Ok(_) => None,
                Err(e) => Some(Err(TransportError::Socket(e.to_string()))),
            }
        })
        .take_until(Box::pin(async move { health.failed().await }));
    let outbound =
        sink.sink_map_err(|e| TransportError::Socket(e.to_string()))
            .with(|bytes: Vec<u8>| async move {
                Ok::<_, TransportError>(WsMessage::Binary(bytes.into()))
            });
    let transport = samod::Transport::new(Box::pin(inbound), Box::pin(outbound));
    match state.acceptor.accept(transport) {
        Ok(_) => tracing::debug!("sync connection accepted"),
        Err(_) => tracing::warn!("sync connection refused: the repo has stopped"),
    }
}

#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("text frames are not part of the protocol")]
    Text,
    #[error("websocket error: {0}")]
    Socket(String),
}
