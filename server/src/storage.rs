//! samod's key-value [`samod::Storage`] on SQL (SQLite by default).
//!
//! samod's storage calls return no errors, so this adapter retries transient failures and,
//! when a write still fails, marks the relay unhealthy rather than pretending it stored the
//! data. Clients keep every change until the relay holds it, so nothing is lost: they resync
//! once storage recovers.

use crate::health::Health;
use samod::storage::StorageKey;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Attempts per operation before the relay declares storage failing.
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database could not be opened: {0}")]
    Open(#[from] sqlx::Error),
    #[error("the database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the data folder could not be created: {0}")]
    DataDir(#[from] std::io::Error),
    #[error("the sync engine stopped")]
    Stopped,
}

/// Document storage in one SQL table, shared by every connection.
#[derive(Clone)]
pub struct SqlStorage {
    pool: SqlitePool,
    health: Arc<Health>,
}

impl SqlStorage {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub async fn open(url: &str, health: Arc<Health>) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Safeguarding records: a write is on disk before the relay acts on it.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        if let Some(parent) = options.get_filename().parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool, health })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Can we write right now? Used to notice that failing storage has recovered.
    pub async fn probe(&self) -> bool {
        sqlx::query("INSERT INTO documents (key, data) VALUES ('health-probe', x'00') ON CONFLICT(key) DO UPDATE SET data = excluded.data")
            .execute(&self.pool)
            .await
            .is_ok()
    }

    /// Runs `op` with retries; on persistent failure marks storage failing and returns None.
    async fn with_retries<T, F, Fut>(&self, what: &'static str, key: &str, op: F) -> Option<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=ATTEMPTS {
            match op().await {
                Ok(v) => return Some(v),
                Err(e) if attempt == ATTEMPTS => {
                    // Keys hold only document ids and hashes, never case content.
                    tracing::error!(operation = what, key, error = %e, "storage failed");
                }
                Err(e) => {
                    tracing::warn!(operation = what, key, attempt, error = %e, "storage error, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        self.health.set_failing(true);
        None
    }
}

fn flat(key: &StorageKey) -> String {
    key.to_string()
}

fn parse_key(flat: &str) -> Option<StorageKey> {
    StorageKey::from_parts(flat.split('/')).ok()
}

impl samod::storage::Storage for SqlStorage {
    async fn load(&self, key: StorageKey) -> Option<Vec<u8>> {
        let k = flat(&key);
        self.with_retries("load", &k, || {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT data FROM documents WHERE key = ?")
                .bind(&k)
                .fetch_optional(&self.pool)
        })
        .await
        .flatten()
    }

    async fn load_range(&self, prefix: StorageKey) -> HashMap<StorageKey, Vec<u8>> {
        let p = flat(&prefix);
        // Keys under `a/b` are exactly those in ["a/b/", "a/b0"): '0' follows '/' in ASCII.
        let (lo, hi) = (format!("{p}/"), format!("{p}0"));
        let rows = self
            .with_retries("load_range", &p, || {
                sqlx::query_as::<_, (String, Vec<u8>)>(
                    "SELECT key, data FROM documents WHERE key = ? OR (key >= ? AND key < ?)",
                )
                .bind(&p)
                .bind(&lo)
                .bind(&hi)
                .fetch_all(&self.pool)
            })
            .await
            .unwrap_or_default();
        rows.into_iter()
            .filter_map(|(k, data)| Some((parse_key(&k)?, data)))
            .collect()
    }

    async fn put(&self, key: StorageKey, data: Vec<u8>) {
        let k = flat(&key);
        self.with_retries("put", &k, || {
            sqlx::query("INSERT INTO documents (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data")
                .bind(&k)
                .bind(&data)
                .execute(&self.pool)
        })
        .await;
    }

    async fn delete(&self, key: StorageKey) {
        let k = flat(&key);
        self.with_retries("delete", &k, || {
            sqlx::query("DELETE FROM documents WHERE key = ?")
                .bind(&k)
                .execute(&self.pool)
        })
        .await;
    }
}
