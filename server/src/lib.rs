//! The TAC Planner relay: syncs case documents between professionals' browsers and stores them.
//!
//! It is thin on purpose. `samod` (the Rust automerge-repo) speaks the sync protocol and
//! decides what to store; this crate adds what samod leaves to its host:
//! - [`config`]: where data lives and where to listen,
//! - [`database`]: SQLite or PostgreSQL, one set of queries for both,
//! - [`storage`]: samod's key-value storage on SQL, durable and honest about failures,
//! - [`durable`]: which changes are on disk, so acknowledgements wait for them,
//! - [`health`]: whether storage is working, so a failing disk refuses work instead of losing it,
//! - [`accounts`]: agencies and professionals, passwords,
//! - [`auth`]: sessions (cookie), [`sign_in_limit`]: limits on guessing passwords,
//! - [`access`]: case memberships and samod's share policy over them,
//! - [`consent`]: invitations need the family's consent; withdrawal removes access,
//! - [`departure`]: leaving a team: final edits taken, the case removed from the person's devices,
//! - [`audit`]: who did what to which case, by id only,
//! - [`records`]: how long closed cases are kept, legal holds, destruction,
//! - [`case_views`]: who opened which case on a device, reported when online,
//! - [`journal`]: who brought each change of a case, and when; writing as someone else is refused,
//! - [`untrusted`]: others' Automerge bytes checked in worker processes,
//! - [`subject_access`]: a person's request for their information: review, approval, the copy,
//! - [`cluster`]: several relays serving one PostgreSQL database at once,
//! - [`api`]: the JSON API, [`sync`]: the signed-in sync WebSocket, [`routes`]: all of it.

pub mod access;
pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod case_views;
pub mod cluster;
pub mod config;
pub mod consent;
pub mod database;
pub mod departure;
pub mod durable;
pub mod health;
pub mod journal;
pub mod oidc;
pub mod organisation_sign_in;
pub mod pdf;
pub mod proxy;
pub mod records;
pub mod repos;
pub mod routes;
pub mod sealing;
pub mod second_factor;
pub mod settled;
pub mod sign_in_limit;
pub mod storage;
pub mod subject_access;
pub mod sync;
pub mod untrusted;

use std::sync::Arc;
use std::time::Duration;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub repos: repos::Repos,
    pub health: Arc<health::Health>,
    pub db: sqlx::AnyPool,
    pub sessions: auth::Sessions,
    pub rate_limit: sign_in_limit::SignInLimit,
    /// Starts of a sign-in at an organisation's provider, limited on their own.
    pub provider_starts: sign_in_limit::SignInLimit,
    /// Password checks running at once (argon2 uses ~19 MiB each); the rest queue.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    pub access: access::Access,
    pub audit: audit::Audit,
    pub consent: consent::Watcher,
    pub checker: untrusted::Checker,
    pub durable: durable::Durable,
    pub journal: journal::Journal,
    /// Whose word to take for a client's address ([`config::Config::trusted_proxies`]).
    pub proxies: Arc<proxy::TrustedProxies>,
    /// Whether this relay serves its database now; released when it stops.
    pub active: database::Active,
    /// How devices are to treat cases ([`config::Config::closed_case_days`]).
    pub device_policy: shared::api::DevicePolicy,
    /// Where people reach the app ([`config::Config::public_url`]).
    pub public_url: Option<Arc<str>>,
    /// For organisations' OpenID providers ([`oidc::client`]).
    pub http: reqwest::Client,
    /// The other relays serving the same database at once, if any ([`cluster`]).
    pub cluster: Option<cluster::Cluster>,
    /// When each case falls due for disposal, as last worked out ([`records::DueCache`]).
    pub due_cache: records::DueCache,
}

/// Opens the database and the samod repos, and returns the router to serve.
pub async fn build(
    config: &config::Config,
) -> Result<(axum::Router, AppState), storage::StorageError> {
    let health = Arc::new(health::Health::default());
    let checker = untrusted::Checker::new(decoder_program(config));
    // Before anything else, migrations included: another relay may be serving this database.
    // Relays that serve together (`--relay-url`) share the cases out instead.
    let active = match &config.relay_url {
        Some(_) => database::Active::together(),
        None => database::become_active(&config.database_url).await?,
    };
    let store = storage::SqlStorage::open(&config.database_url, health.clone())
        .await?
        .checking_with(checker.clone());
    let db = store.pool().clone();
    let durable = store.durable().clone();
    // Nothing of a destroyed case stays stored (see records).
    records::sweep(&db).await?;
    // Content stored before sealing began is sealed in the background (see sealing).
    let sealing = store.clone();
    tokio::spawn(async move {
        match sealing.seal_stored().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(values = n, "sealed content stored before sealing began"),
            Err(e) => {
                tracing::warn!(error = %e, "could not seal content stored before; tried again at next start")
            }
        }
    });
    let access = access::Access::load(db.clone()).await?;
    let sessions = auth::Sessions::new(
        db.clone(),
        Duration::from_secs(u64::from(config.session_hours) * 3600),
        config.secure_cookies,
    );
    let cluster = match &config.relay_url {
        Some(me) => {
            let cluster =
                cluster::Cluster::join(&config.database_url, me.clone(), db.clone()).await?;
            access.tell_relays(cluster.tell());
            sessions.tell_relays_with(cluster.tell());
            let (a, s, store_) = (access.clone(), sessions.clone(), store.clone());
            cluster
                .listen(&config.database_url, move |channel, said| match channel {
                    cluster::ACCESS_CHANNEL => match said.and_then(cluster::destroyed_case) {
                        Some(case) => store_.destroyed(case),
                        None => {
                            if said.is_none() {
                                // Something may have been missed: destroyed cases too.
                                let store = store_.clone();
                                tokio::spawn(async move { store.reload_destroyed().await });
                            }
                            a.heard(said)
                        }
                    },
                    _ => s.heard(),
                })
                .await?;
            Some(cluster)
        }
        None => None,
    };
    let audit = audit::Audit::open(db.clone()).await?;
    let db_for_journal = db.clone();
    let repos = repos::Repos::open(
        store.clone(),
        access.policy(),
        Duration::from_secs(config.unload_after_secs.into()),
        cluster.clone(),
    )
    .await?;
    tokio::spawn(health::watch(store, health.clone()));
    let consent = consent::Watcher::new(repos.clone(), db.clone(), access.clone(), audit.clone());
    let rate_limit = sign_in_limit::SignInLimit::new(db.clone(), audit.clone());
    let provider_starts = sign_in_limit::SignInLimit::provider_starts(db.clone(), audit.clone());
    let state = AppState {
        repos,
        health,
        db,
        sessions,
        rate_limit,
        provider_starts,
        password_checks: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2),
        )),
        access,
        audit,
        consent,
        checker,
        durable,
        journal: journal::Journal::new(db_for_journal),
        proxies: Arc::new(config.trusted_proxies.clone()),
        active,
        device_policy: shared::api::DevicePolicy {
            closed_case_days: config.closed_case_days,
        },
        public_url: config.public_url.as_deref().map(Arc::from),
        http: oidc::client(),
        cluster,
        due_cache: Default::default(),
    };
    Ok((routes::router(state.clone(), &config.dist_dir), state))
}

/// The program decode workers run: as configured, or this one when it is the relay binary.
fn decoder_program(config: &config::Config) -> Option<std::path::PathBuf> {
    config.decoder.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .filter(|p| p.file_stem().is_some_and(|n| n == "tac-relay"))
    })
}
