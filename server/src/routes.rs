//! The relay's HTTP surface: the app itself, the JSON API, the sync WebSocket and a health check.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::Path;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// All routes, assembled in one place.
pub fn router(state: AppState, dist: &Path) -> Router {
    // Unknown paths (e.g. a link to `/case/<id>`) get the app, which routes in the browser.
    // The build compresses the app's files with brotli at its best (`scripts/precompress.mjs`):
    // those `.br` files are served as they are, the rest compressed as they go out.
    let app = ServeDir::new(dist)
        .precompressed_br()
        .fallback(ServeFile::new(dist.join("index.html")));
    // The same address answers in brotli or plain: caches must keep them apart.
    let app = tower_http::set_header::SetResponseHeader::if_not_present(
        app,
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    // API answers are about people and cases: never keep them in a cache.
    let api = crate::api::router().layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    Router::new()
        .nest("/api", api)
        .route("/sync", get(crate::sync::upgrade))
        // Other relays of the service forward browsers' frames here (see crate::cluster).
        .route("/internal/sync", get(crate::sync::forwarded))
        .route("/health", get(health))
        .fallback_service(app)
        // The service worker and the page must be revalidated so updates reach people.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // The app's wasm is ~3.6 MB raw and ~1 MB with brotli: it matters on a phone signal.
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
