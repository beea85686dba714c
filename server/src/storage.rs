//! samod's key-value [`samod::Storage`] on SQL (SQLite by default).
//!
//! samod's storage calls return no errors, so this adapter retries transient failures and,
//! when a write still fails, keeps it in memory, marks the relay unhealthy (which closes sync
//! connections and refuses new ones) and writes the kept writes, in order, once the database
//! accepts writes again. Clients keep every change until the relay holds it, so even a relay
//! that dies while unhealthy loses nothing: its clients refill it when they reconnect.

use crate::health::Health;
use samod::storage::StorageKey;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
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

/// A write the database refused, kept until it can be written.
#[derive(Debug, Clone)]
enum Held {
    Put(String, Vec<u8>),
    Delete(String),
}

/// Document storage in one SQL table, shared by every connection.
#[derive(Clone)]
pub struct SqlStorage {
    pool: SqlitePool,
    health: Arc<Health>,
    /// Writes not yet in the database, oldest first. Later writes queue behind them so the
    /// database never sees them out of order.
    held: Arc<Mutex<Vec<Held>>>,
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
        Ok(Self {
            pool,
            health,
            held: Arc::default(),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Writes what was held back while storage failed, in order. True when nothing is left.
    pub async fn write_held(&self) -> bool {
        loop {
            let Some(next) = self.lock_held().first().cloned() else {
                return true;
            };
            let ok = match &next {
                Held::Put(k, data) => self.put_once(k, data).await.is_ok(),
                Held::Delete(k) => self.delete_once(k).await.is_ok(),
            };
            if !ok {
                return false;
            }
            self.lock_held().remove(0);
        }
    }

    /// How many writes are waiting for the database.
    pub fn held_count(&self) -> usize {
        self.lock_held().len()
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Vec<Held>> {
        // A panic while holding this lock cannot leave the Vec inconsistent; carry on.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest held write for a key, if any: reads must see it.
    fn held_value(&self, key: &str) -> Option<Option<Vec<u8>>> {
        self.lock_held().iter().rev().find_map(|h| match h {
            Held::Put(k, data) if k == key => Some(Some(data.clone())),
            Held::Delete(k) if k == key => Some(None),
            _ => None,
        })
    }

    async fn put_once(&self, key: &str, data: &[u8]) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO documents (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data")
            .bind(key)
            .bind(data)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    async fn delete_once(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM documents WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Writes now, or holds the write if earlier ones are held or the database refuses it.
    async fn write(&self, write: Held) {
        if self.held_count() == 0 {
            let key = match &write {
                Held::Put(k, _) | Held::Delete(k) => k.clone(),
            };
            let done = match &write {
                Held::Put(k, data) => {
                    self.with_retries("put", &key, || self.put_once(k, data))
                        .await
                }
                Held::Delete(k) => {
                    self.with_retries("delete", &key, || self.delete_once(k))
                        .await
                }
            };
            if done.is_some() {
                return;
            }
        }
        self.lock_held().push(write);
        self.health.set_failing(true);
    }

    /// Runs `op` with retries; on persistent failure marks storage failing and returns None.
    /// (A failed read is reported as "not found" to samod, which then asks peers instead.)
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

/// Whether the document table holds anything for this document id (keys `<id>/...`).
pub async fn holds_document(pool: &SqlitePool, document_id: &str) -> Result<bool, sqlx::Error> {
    // Keys under `id` are exactly those in ["id/", "id0"): '0' follows '/' in ASCII.
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM documents WHERE key = ? OR (key >= ? AND key < ?) LIMIT 1",
    )
    .bind(document_id)
    .bind(format!("{document_id}/"))
    .bind(format!("{document_id}0"))
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
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
        if let Some(held) = self.held_value(&k) {
            return held;
        }
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
        let mut found: HashMap<String, Vec<u8>> = rows.into_iter().collect();
        for held in self.lock_held().iter() {
            match held {
                Held::Put(k, data) if *k == p || (*k >= lo && *k < hi) => {
                    found.insert(k.clone(), data.clone());
                }
                Held::Delete(k) => {
                    found.remove(k);
                }
                _ => {}
            }
        }
        found
            .into_iter()
            .filter_map(|(k, data)| Some((parse_key(&k)?, data)))
            .collect()
    }

    async fn put(&self, key: StorageKey, data: Vec<u8>) {
        self.write(Held::Put(flat(&key), data)).await;
    }

    async fn delete(&self, key: StorageKey) {
        self.write(Held::Delete(flat(&key))).await;
    }
}
