//! The TAC Planner relay: syncs case documents between professionals' browsers and stores them.
//!
//! It is thin on purpose. `samod` (the Rust automerge-repo) speaks the sync protocol and
//! decides what to store; this crate adds what samod leaves to its host:
//! - [`config`]: where data lives and where to listen,
//! - [`storage`]: samod's key-value storage on SQL, durable and honest about failures,
//! - [`health`]: whether storage is working, so a failing disk refuses work instead of losing it,
//! - [`routes`]: the HTTP surface (the app, `/sync`, `/health`).

pub mod config;
pub mod health;
pub mod routes;
pub mod storage;

use std::sync::Arc;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub repo: samod::Repo,
    pub acceptor: samod::AcceptorHandle,
    pub health: Arc<health::Health>,
}

/// Opens the database and the samod repo, and returns the router to serve.
pub async fn build(
    config: &config::Config,
) -> Result<(axum::Router, AppState), storage::StorageError> {
    let health = Arc::new(health::Health::default());
    let store = storage::SqlStorage::open(&config.database_url, health.clone()).await?;
    let repo = samod::Repo::build_tokio()
        .with_storage(store.clone())
        // Serve any document a client asks for, but never push documents at a client that did
        // not ask: a browser syncs only the cases it opens.
        .with_share_policy(samod::ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let acceptor = repo
        .make_acceptor(samod::Url::parse("ws://relay/sync").expect("static URL"))
        .map_err(|_| storage::StorageError::Stopped)?;
    tokio::spawn(health::watch(store, health.clone()));
    let state = AppState {
        repo,
        acceptor,
        health,
    };
    Ok((routes::router(state.clone(), &config.dist_dir), state))
}
