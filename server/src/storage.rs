//! samod's key-value [`samod::Storage`] on SQL (SQLite by default, or PostgreSQL).
//!
//! samod's storage calls return no errors, so this adapter retries transient failures and,
//! when a write still fails, keeps it in memory, marks the relay unhealthy (which closes sync
//! connections and refuses new ones) and writes the kept writes, in order, once the database
//! accepts writes again. Clients keep every change until the relay holds it, so even a relay
//! that dies while unhealthy loses nothing: its clients refill it when they reconnect.

use crate::health::Health;
use samod::storage::StorageKey;
use sqlx::{AnyConnection, AnyPool, Connection};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Attempts per operation before the relay declares storage failing.
const ATTEMPTS: u32 = 4;
/// Most writes committed in one transaction. Small, because each finished write wakes its
/// case's samod actor, which then works out sync messages for everyone in the case: in the
/// latency bench at 50 cases, batches of 16 gave a p99 of 30–39 ms against 39–198 ms for 256,
/// for the same CPU.
const BATCH: usize = 16;
/// A key no document uses (document ids never contain `_`), for probe writes.
const PROBE_KEY: &str = "_health_probe";
/// Most rows in one statement (SQLite allows 32,766 bound values, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database could not be opened: {0}")]
    Open(#[from] crate::database::OpenError),
    #[error("the database could not be read: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("the sync engine stopped")]
    Stopped,
}

/// A write for the database.
#[derive(Debug, Clone)]
enum Held {
    Put(String, Vec<u8>),
    Delete(String),
}

/// Document storage in one SQL table, shared by every connection.
#[derive(Clone)]
pub struct SqlStorage {
    db: Db,
    /// To the writer task ([`Db::run_writer`]), which ends when the last clone is dropped.
    writes: mpsc::UnboundedSender<(Held, oneshot::Sender<()>)>,
    /// Checks chunks read back before samod loads them.
    checker: crate::untrusted::Checker,
    /// The relay's runtime, where every query runs: case shards call in from runtimes of their
    /// own that end when they unload (see [`crate::repos`]), and a database connection opened
    /// on one of those would die with it.
    main: tokio::runtime::Handle,
    /// Cases destroyed under the records policy ([`crate::records`]): nothing of them is
    /// written or read again, whatever samod still holds in memory.
    destroyed: Arc<std::sync::RwLock<std::collections::HashSet<String>>>,
}

/// The database and the writes it has refused so far.
#[derive(Clone)]
struct Db {
    pool: AnyPool,
    /// The one connection document writes go through, opened when first needed and thrown away
    /// after any error. After SQLITE_FULL a pooled connection's transaction bookkeeping can
    /// drift from SQLite's own (the full-disk test saw a "committed" write that was still
    /// inside an open transaction, then lost, and that transaction holding the write lock);
    /// a connection that has failed is never trusted again.
    writer: Arc<tokio::sync::Mutex<Option<AnyConnection>>>,
    url: Arc<str>,
    health: Arc<Health>,
    /// Writes not yet in the database, oldest first. Later writes queue behind them so the
    /// database never sees them out of order.
    held: Arc<Mutex<Vec<Held>>>,
    /// What is on disk, for acknowledgements (see [`crate::durable`]).
    durable: crate::durable::Durable,
    /// Each case's content is stored sealed with its own key ([`crate::sealing`]).
    keys: crate::sealing::CaseKeys,
}

impl SqlStorage {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub async fn open(url: &str, health: Arc<Health>) -> Result<Self, StorageError> {
        let pool = crate::database::open(url).await?;
        let db = Db {
            keys: crate::sealing::CaseKeys::new(pool.clone()),
            pool,
            writer: Arc::default(),
            url: url.into(),
            health,
            held: Arc::default(),
            durable: Default::default(),
        };
        let destroyed = sqlx::query_scalar::<_, String>("SELECT case_id FROM disposals")
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .collect();
        let (writes, queue) = mpsc::unbounded_channel();
        tokio::spawn(db.clone().run_writer(queue));
        Ok(Self {
            db,
            writes,
            checker: crate::untrusted::Checker::new(None),
            main: tokio::runtime::Handle::current(),
            destroyed: Arc::new(std::sync::RwLock::new(destroyed)),
        })
    }

    /// Checks chunks read back with `checker` (worker processes) instead of in this process.
    pub fn checking_with(mut self, checker: crate::untrusted::Checker) -> Self {
        self.checker = checker;
        self
    }

    pub fn pool(&self) -> &AnyPool {
        &self.db.pool
    }

    /// Which changes are on disk.
    pub fn durable(&self) -> &crate::durable::Durable {
        &self.db.durable
    }

    /// Writes what was held back while storage failed, in order. True when nothing is left.
    /// With nothing held, a probe write says whether the database takes writes again (the
    /// receipt journal, say, may have failed on a full disk with no document write held).
    pub async fn write_held(&self) -> bool {
        let held = self.db.lock_held().clone();
        if held.is_empty() {
            let probe = [
                Held::Put(PROBE_KEY.into(), vec![0; 4096]),
                Held::Delete(PROBE_KEY.into()),
            ];
            return self.db.commit(&probe).await.is_ok();
        }
        if self.db.commit(&held).await.is_err() {
            return false;
        }
        self.db.committed(&held);
        // Writes are only ever added at the end of `held`, so the first ones are those written.
        let mut now = self.db.lock_held();
        now.drain(..held.len());
        now.is_empty()
    }

    /// From now on nothing of this case is written or read (see [`crate::records`]).
    pub fn destroyed(&self, case_id: &str) {
        self.destroyed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(case_id.to_string());
        self.db.keys.forget(case_id);
        // Writes held back while storage was failing would otherwise go in later.
        self.db.lock_held().retain(|h| {
            let key = match h {
                Held::Put(k, _) | Held::Delete(k) => k,
            };
            key.split('/').next() != Some(case_id)
        });
    }

    /// Reads the destroyed cases from the database again (another relay may have destroyed
    /// some while this one was not listening).
    pub async fn reload_destroyed(&self) -> Result<(), sqlx::Error> {
        for case in sqlx::query_scalar::<_, String>("SELECT case_id FROM disposals")
            .fetch_all(&self.db.pool)
            .await?
        {
            self.destroyed(&case);
        }
        Ok(())
    }

    /// Seals the case content stored before sealing began ([`crate::sealing`]), a page at a
    /// time, once per database (a setting says it is done). A value samod rewrites or deletes
    /// meanwhile is left as samod left it. Answers how many values it sealed.
    pub async fn seal_stored(&self) -> Result<u64, sqlx::Error> {
        const DONE: &str = "stored_content_sealed";
        let pool = &self.db.pool;
        let done: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(DONE)
            .fetch_optional(pool)
            .await?;
        if done.is_some() {
            return Ok(0);
        }
        let (mut after, mut sealed) = (String::new(), 0);
        loop {
            let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT key, data FROM documents WHERE key > $1 ORDER BY key LIMIT 100",
            )
            .bind(&after)
            .fetch_all(pool)
            .await?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            after = last.clone();
            for (key, data) in rows {
                let Some(case) = crate::sealing::case_of(&key) else {
                    continue;
                };
                if crate::sealing::is_sealed(&data) || self.of_destroyed(&key) {
                    continue;
                }
                let mut tx = pool.begin().await?;
                let Some(case_key) = crate::sealing::key_in(&mut tx, case).await? else {
                    continue;
                };
                let new = self.db.keys.seal_with(&case_key, &key, &data);
                sealed +=
                    sqlx::query("UPDATE documents SET data = $1 WHERE key = $2 AND data = $3")
                        .bind(new)
                        .bind(&key)
                        .bind(&data)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                tx.commit().await?;
            }
        }
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, '1') ON CONFLICT (name) DO NOTHING",
        )
        .bind(DONE)
        .execute(pool)
        .await?;
        Ok(sealed)
    }

    /// Whether a key belongs to a destroyed case.
    fn of_destroyed(&self, key: &str) -> bool {
        let case = key.split('/').next().unwrap_or(key);
        self.destroyed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(case)
    }

    /// How many writes are waiting for the database.
    pub fn held_count(&self) -> usize {
        self.db.lock_held().len()
    }

    /// Hands a write to the writer task and waits until it is in the database (or held).
    async fn write(&self, write: Held) {
        let (done, written) = oneshot::channel();
        if let Err(refused) = self.writes.send((write, done)) {
            // No writer (the runtime is shutting down): hold it like a refused write.
            self.db.lock_held().push(refused.0 .0);
            self.db.health.set_failing(true);
            return;
        }
        if written.await.is_err() {
            // The writer task ended without answering, so the write may not be stored. Say so
            // (an error, failing health) rather than pretend it was written; clients keep
            // every change, so a relay restarted from its store gets it from them again.
            tracing::error!("the storage writer stopped");
            self.db.health.set_failing(true);
        }
    }
}

impl Db {
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

    /// The writer task: commits whatever is queued in one transaction (group commit), so that
    /// under load the relay makes one disk sync per batch, not one per change. An idle relay
    /// commits a write at once: nothing waits for a batch to fill.
    async fn run_writer(self, mut queue: mpsc::UnboundedReceiver<(Held, oneshot::Sender<()>)>) {
        let mut batch = Vec::new();
        while queue.recv_many(&mut batch, BATCH).await > 0 {
            let (writes, waiting): (Vec<Held>, Vec<_>) = batch.drain(..).unzip();
            // Behind held writes a write is held too, so the database never sees them out of
            // order.
            let written = self.lock_held().is_empty()
                && self
                    .with_retries("write", &format!("{} keys", writes.len()), || {
                        self.commit(&writes)
                    })
                    .await
                    .is_some();
            if written {
                self.committed(&writes);
            } else {
                self.lock_held().extend(writes);
                self.health.set_failing(true);
            }
            for done in waiting {
                let _ = done.send(());
            }
        }
    }

    /// Notes what a commit put on disk.
    fn committed(&self, writes: &[Held]) {
        for write in writes {
            if let Held::Put(key, data) = write {
                self.durable.note(key, data);
            }
        }
    }

    /// Writes in order, in one transaction: each run of puts as multi-row upserts and each run
    /// of deletes as one `IN`, since every statement is a round trip to SQLite's thread.
    async fn commit(&self, writes: &[Held]) -> Result<(), sqlx::Error> {
        let mut writer = self.writer.lock().await;
        let conn = match writer.as_mut() {
            Some(conn) => conn,
            None => writer.insert(crate::database::connect(&self.url).await?),
        };
        let result = Self::commit_on(conn, writes, &self.keys).await;
        if result.is_err() {
            // Dropped, not reused: closing it rolls back whatever SQLite may still hold open.
            if let Some(conn) = writer.take() {
                let _ = conn.close().await;
            }
        }
        result
    }

    /// A stored value as samod wrote it: opened if sealed. `None` if it cannot be opened (its
    /// case destroyed, or the bytes damaged), logged by key; left in place, like a chunk
    /// automerge cannot read ([`SqlStorage::readable`]).
    async fn opened(&self, key: &str, stored: Vec<u8>) -> Option<Vec<u8>> {
        let opened = self
            .with_retries("open", key, || self.keys.open(key, stored.clone()))
            .await?;
        match opened {
            Ok(plain) => Some(plain),
            Err(e) => {
                tracing::error!(key, error = %e, "a stored value cannot be opened; left out");
                None
            }
        }
    }

    async fn commit_on(
        conn: &mut AnyConnection,
        writes: &[Held],
        keys: &crate::sealing::CaseKeys,
    ) -> Result<(), sqlx::Error> {
        let same_kind = |a: &Held, b: &Held| {
            matches!(
                (a, b),
                (Held::Put(..), Held::Put(..)) | (Held::Delete(_), Held::Delete(_))
            )
        };
        let mut tx = conn.begin().await?;
        // Case content sealed with its case's key; a case written for the first time gets its
        // key in this transaction, so content is never committed without it.
        let mut new_keys = HashMap::new();
        let mut sealed = Vec::with_capacity(writes.len());
        for write in writes {
            let Held::Put(k, data) = write else {
                sealed.push(write.clone());
                continue;
            };
            let Some(case) = crate::sealing::case_of(k) else {
                sealed.push(write.clone());
                continue;
            };
            let key = match keys.known(case).or_else(|| new_keys.get(case).cloned()) {
                Some(key) => key,
                None => match crate::sealing::key_in(&mut tx, case).await? {
                    Some(key) => new_keys.entry(case.to_string()).or_insert(key).clone(),
                    // Destroyed meanwhile: nothing of it is written.
                    None => continue,
                },
            };
            sealed.push(Held::Put(k.clone(), keys.seal_with(&key, k, data)));
        }
        for run in sealed.chunk_by(|a, b| same_kind(a, b)) {
            // One row per key in a run of puts, the last written: PostgreSQL refuses an upsert
            // that touches a row twice ("cannot affect row a second time").
            let run = last_put_per_key(run);
            for rows in run.chunks(ROWS_PER_STATEMENT) {
                // Placeholders written out as `$n`, which both databases read (sqlx's query
                // builder writes `?` for its `Any` driver, which PostgreSQL does not).
                let mut sql = String::new();
                let query = match *rows[0] {
                    Held::Put(..) => {
                        sql.push_str("INSERT INTO documents (key, data) VALUES ");
                        for i in 0..rows.len() {
                            let sep = if i == 0 { "" } else { ", " };
                            let _ = write!(sql, "{sep}(${}, ${})", 2 * i + 1, 2 * i + 2);
                        }
                        sql.push_str(" ON CONFLICT(key) DO UPDATE SET data = excluded.data");
                        let mut query = sqlx::query(&sql);
                        for write in rows {
                            if let Held::Put(k, data) = write {
                                query = query.bind(k).bind(data);
                            }
                        }
                        query
                    }
                    Held::Delete(_) => {
                        sql.push_str("DELETE FROM documents WHERE key IN (");
                        for i in 0..rows.len() {
                            let sep = if i == 0 { "" } else { ", " };
                            let _ = write!(sql, "{sep}${}", i + 1);
                        }
                        sql.push(')');
                        let mut query = sqlx::query(&sql);
                        for write in rows {
                            if let Held::Delete(k) = write {
                                query = query.bind(k);
                            }
                        }
                        query
                    }
                };
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        keys.remember(new_keys);
        Ok(())
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

/// A run of writes with only the last put of each key (deletes are left as they are).
fn last_put_per_key(run: &[Held]) -> Vec<&Held> {
    let mut last = HashMap::new();
    for (i, write) in run.iter().enumerate() {
        if let Held::Put(k, _) = write {
            last.insert(k.as_str(), i);
        }
    }
    run.iter()
        .enumerate()
        .filter(|(i, w)| match w {
            Held::Put(k, _) => last.get(k.as_str()) == Some(i),
            Held::Delete(_) => true,
        })
        .map(|(_, w)| w)
        .collect()
}

/// Whether the document table holds anything for this document id (keys `<id>/...`).
pub async fn holds_document(pool: &AnyPool, document_id: &str) -> Result<bool, sqlx::Error> {
    // Keys under `id` are exactly those in ["id/", "id0"): '0' follows '/' in ASCII.
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM documents WHERE key = $1 OR (key >= $2 AND key < $3) LIMIT 1",
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

impl SqlStorage {
    /// Whether a stored value may be handed to samod. A document chunk that would break
    /// automerge's loader (a damaged disk, or bytes written before the relay checked them) is
    /// left out and left in place: samod loads the rest of the case, and since it never saw
    /// the chunk it never compacts it away, so nothing stored is lost. Logged by key (ids and
    /// hashes only).
    async fn readable(&self, key: &str, data: &[u8]) -> bool {
        let chunk = matches!(key.split('/').nth(1), Some("incremental" | "snapshot"));
        if !chunk {
            return true;
        }
        // On the relay's runtime, like the queries: the decode workers' pipes must outlive
        // the shard that asks.
        let (checker, bytes) = (self.checker.clone(), data.to_vec());
        let checked = self
            .main
            .spawn(async move { checker.check(crate::untrusted::Kind::Chunks, &bytes).await })
            .await;
        match checked.unwrap_or_else(|_| {
            Err(shared::untrusted::Rejected(
                "the check was cut short".into(),
            ))
        }) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(key, error = %e, "a stored chunk cannot be read; the case loads without it");
                false
            }
        }
    }
}

impl SqlStorage {
    /// A case as stored, chunks checked as for samod ([`SqlStorage::readable`]); `None` if
    /// nothing of it is stored. For reading a case another relay works on (see
    /// [`crate::cluster`]).
    pub async fn stored_copy(&self, document_id: &str) -> Option<automerge::Automerge> {
        use samod::storage::Storage;
        let prefix = StorageKey::from_parts([document_id]).ok()?;
        let chunks: Vec<Vec<u8>> = self.load_range(prefix).await.into_values().collect();
        if chunks.is_empty() {
            return None;
        }
        // Reading a whole case is CPU work: off the threads serving connections.
        tokio::task::spawn_blocking(move || {
            let mut doc = automerge::Automerge::new();
            for chunk in &chunks {
                // Checked above; a chunk that still fails is left out, as samod would.
                let _ = doc.load_incremental(chunk);
            }
            doc
        })
        .await
        .ok()
    }
}

fn parse_key(flat: &str) -> Option<StorageKey> {
    StorageKey::from_parts(flat.split('/')).ok()
}

impl samod::storage::Storage for SqlStorage {
    async fn load(&self, key: StorageKey) -> Option<Vec<u8>> {
        let k = flat(&key);
        if self.of_destroyed(&k) {
            return None;
        }
        if let Some(held) = self.db.held_value(&k) {
            return held;
        }
        let db = self.db.clone();
        let read = async move {
            let stored = db
                .with_retries("load", &k, || {
                    sqlx::query_scalar::<_, Vec<u8>>("SELECT data FROM documents WHERE key = $1")
                        .bind(&k)
                        .fetch_optional(&db.pool)
                })
                .await
                .flatten()?;
            db.opened(&k, stored).await
        };
        self.main.spawn(read).await.ok().flatten()
    }

    async fn load_range(&self, prefix: StorageKey) -> HashMap<StorageKey, Vec<u8>> {
        let p = flat(&prefix);
        if self.of_destroyed(&p) {
            return HashMap::new();
        }
        // Keys under `a/b` are exactly those in ["a/b/", "a/b0"): '0' follows '/' in ASCII.
        let (lo, hi) = (format!("{p}/"), format!("{p}0"));
        let (db, range) = (self.db.clone(), (p.clone(), lo.clone(), hi.clone()));
        let read = async move {
            let (p, lo, hi) = range;
            let stored = db
                .with_retries("load_range", &p, || {
                    sqlx::query_as::<_, (String, Vec<u8>)>(
                        "SELECT key, data FROM documents WHERE key = $1 OR (key >= $2 AND key < $3)",
                    )
                    .bind(&p)
                    .bind(&lo)
                    .bind(&hi)
                    .fetch_all(&db.pool)
                })
                .await?;
            let mut opened = Vec::with_capacity(stored.len());
            for (k, data) in stored {
                if let Some(plain) = db.opened(&k, data).await {
                    opened.push((k, plain));
                }
            }
            Some(opened)
        };
        let rows = self
            .main
            .spawn(read)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        // What the database returned is on disk; held writes merged in below are not.
        for (k, data) in &rows {
            self.db.durable.note(k, data);
        }
        let mut found: HashMap<String, Vec<u8>> = rows.into_iter().collect();
        for held in self.db.lock_held().iter() {
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
        let mut out = HashMap::with_capacity(found.len());
        for (k, data) in found {
            if self.readable(&k, &data).await {
                if let Some(key) = parse_key(&k) {
                    out.insert(key, data);
                }
            }
        }
        out
    }

    async fn put(&self, key: StorageKey, data: Vec<u8>) {
        let k = flat(&key);
        if self.of_destroyed(&k) {
            // samod may still hold a destroyed case in memory until its shard unloads.
            tracing::info!(key = %k, "not writing part of a destroyed case");
            return;
        }
        self.write(Held::Put(k, data)).await;
    }

    async fn delete(&self, key: StorageKey) {
        self.write(Held::Delete(flat(&key))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samod::storage::Storage;

    #[tokio::test]
    async fn content_stored_before_sealing_is_sealed_once_and_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqlStorage::open(&url, Arc::default()).await.unwrap();
        let words = b"Sam said he likes his new teacher.".to_vec();
        for key in ["case1/snapshot/h1", "storage-adapter-id"] {
            sqlx::query("INSERT INTO documents (key, data) VALUES ($1, $2)")
                .bind(key)
                .bind(words.clone())
                .execute(store.pool())
                .await
                .unwrap();
        }
        let stored = |key: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, Vec<u8>>("SELECT data FROM documents WHERE key = $1")
                    .bind(key)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(store.seal_stored().await.unwrap(), 1);
        assert!(crate::sealing::is_sealed(
            &stored("case1/snapshot/h1").await
        ));
        assert_eq!(
            stored("storage-adapter-id").await,
            words,
            "not case content"
        );
        let key = StorageKey::from_parts(["case1", "snapshot", "h1"]).unwrap();
        assert_eq!(store.load(key).await, Some(words));
        // Done once: a value written unsealed later (it cannot be, but say it were) stays.
        sqlx::query("UPDATE documents SET data = $1 WHERE key = 'case1/snapshot/h1'")
            .bind(b"x".to_vec())
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(store.seal_stored().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_case_destroyed_elsewhere_gets_no_key_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqlStorage::open(&url, Arc::default()).await.unwrap();
        // Another relay destroyed "gone" a moment ago; this one has not heard yet.
        for sql in [
            "INSERT INTO agencies (id, name, created_at) VALUES (1, 'Council', 0)",
            "INSERT INTO professionals (id, name, email, agency_id, role, password_hash, created_at)
             VALUES (1, 'Rita', 'rita@council.test', 1, 'practitioner', 'x', 0)",
            "INSERT INTO disposals (case_id, rule, due, approved_by, disposed_at)
             VALUES ('gone', 'rule', '2000-01-01', 1, 0)",
        ] {
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
        let at = |case: &str| StorageKey::from_parts([case, "incremental", "h1"]).unwrap();
        store.put(at("gone"), b"late words".to_vec()).await;
        store.put(at("kept"), b"words".to_vec()).await;
        let count = |sql: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM documents WHERE key LIKE 'gone/%'").await,
            0
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM case_keys WHERE case_id = 'gone'").await,
            0
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM case_keys WHERE case_id = 'kept'").await,
            1
        );
        assert_eq!(store.load(at("kept")).await, Some(b"words".to_vec()));
        assert!(
            store.db.health.is_ok(),
            "dropping it is not a storage failure"
        );
        assert_eq!(store.held_count(), 0, "nor held to write later");
    }
}
