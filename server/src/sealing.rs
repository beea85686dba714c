//! Each case's stored content is sealed (ChaCha20-Poly1305) with a key of its own, kept in
//! `case_keys`. Destroying a case deletes its key, so whatever copies of its content the
//! database still keeps after the rows are deleted (PostgreSQL's dead rows and free space, a
//! write-ahead log, a backup taken after the destruction) cannot be read. The key table is
//! small, so it can be rewritten at once (`VACUUM FULL` on PostgreSQL; SQLite overwrites
//! deleted rows itself), while rewriting the content table would stop every case's sync for
//! as long as it takes.
//!
//! Only keys of the form `<case>/...` are sealed. A value stored before sealing began is read
//! as it is, and sealed by a pass at the first start ([`crate::storage::SqlStorage::seal_stored`]);
//! on PostgreSQL the unsealed bytes it replaced stay in the table's free space until reused,
//! so after that upgrade `VACUUM FULL documents` should be run once, at a quiet time.

use crate::database::Dialect;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{AnyConnection, AnyPool};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Marks a sealed value; automerge's chunks begin with their own magic bytes, never these.
const MAGIC: &[u8] = b"TACsealed1";

/// The case a storage key belongs to, if its value is case content.
pub fn case_of(key: &str) -> Option<&str> {
    key.split_once('/').map(|(case, _)| case)
}

/// Whether stored bytes are sealed (else they were stored before sealing began).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A sealed value that cannot be opened: its case's key is gone (destroyed) or it is damaged.
#[derive(Debug, thiserror::Error)]
#[error("a sealed value could not be opened")]
pub struct Unopenable;

/// `plain` sealed under `key`, bound to the storage key it is written at (so it cannot be
/// passed off as another part of the case).
pub fn seal(key: &LessSafeKey, at: &str, plain: &[u8], rng: &SystemRandom) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    // The system's random source does not fail on any platform the relay runs on.
    rng.fill(&mut nonce).expect("random bytes");
    let mut sealed = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len() + 16);
    sealed.extend_from_slice(MAGIC);
    sealed.extend_from_slice(&nonce);
    let mut body = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(at.as_bytes()),
        &mut body,
    )
    .expect("a value within ChaCha20-Poly1305's limits");
    sealed.extend_from_slice(&body);
    sealed
}

/// `sealed` opened with `key`, if it was sealed with it at `at`.
pub fn open(key: &LessSafeKey, at: &str, sealed: &[u8]) -> Result<Vec<u8>, Unopenable> {
    let rest = sealed.strip_prefix(MAGIC).ok_or(Unopenable)?;
    if rest.len() < NONCE_LEN {
        return Err(Unopenable);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unopenable)?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(at.as_bytes()), &mut body)
        .map_err(|_| Unopenable)?;
    let n = plain.len();
    body.truncate(n);
    Ok(body)
}

/// A key from its 32 stored bytes.
pub fn key_from(bytes: &[u8]) -> Option<Arc<LessSafeKey>> {
    UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .ok()
        .map(|k| Arc::new(LessSafeKey::new(k)))
}

/// Most keys kept in memory. Past it they are all forgotten and read again when needed (one
/// query each), so a relay that has served many cases keeps no more memory for them than one
/// that has served a few (see [`crate::repos`] on unloading).
const MOST_KEYS_KEPT: usize = 4096;

/// The cases' keys: read from the database when first needed, then kept in memory (up to
/// [`MOST_KEYS_KEPT`]).
#[derive(Clone)]
pub struct CaseKeys {
    pool: AnyPool,
    known: Arc<Mutex<HashMap<String, Arc<LessSafeKey>>>>,
    rng: SystemRandom,
}

impl CaseKeys {
    pub fn new(pool: AnyPool) -> Self {
        Self {
            pool,
            known: Arc::default(),
            rng: SystemRandom::new(),
        }
    }

    /// The case's key if it is known here already.
    pub fn known(&self, case: &str) -> Option<Arc<LessSafeKey>> {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(case)
            .cloned()
    }

    async fn stored(&self, case: &str) -> Result<Option<Arc<LessSafeKey>>, sqlx::Error> {
        if let Some(key) = self.known(case) {
            return Ok(Some(key));
        }
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT key FROM case_keys WHERE case_id = $1")
                .bind(case)
                .fetch_optional(&self.pool)
                .await?;
        let key = bytes.as_deref().and_then(key_from);
        if let Some(key) = &key {
            self.remember([(case.to_string(), key.clone())]);
        }
        Ok(key)
    }

    /// Keys read, or stored by a transaction that has now committed.
    pub fn remember(&self, keys: impl IntoIterator<Item = (String, Arc<LessSafeKey>)>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        for (case, key) in keys {
            if known.len() >= MOST_KEYS_KEPT {
                known.clear();
            }
            known.insert(case, key);
        }
    }

    /// How many keys are kept in memory.
    pub fn kept(&self) -> usize {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// `plain`, to be stored at `at`, sealed with `key`.
    pub fn seal_with(&self, key: &LessSafeKey, at: &str, plain: &[u8]) -> Vec<u8> {
        seal(key, at, plain, &self.rng)
    }

    /// What was stored at `at`, opened if it was sealed. `Ok(Err(_))` when it cannot be
    /// opened (its case destroyed, or the bytes damaged); `Err` when the key could not be read.
    pub async fn open(
        &self,
        at: &str,
        stored: Vec<u8>,
    ) -> Result<Result<Vec<u8>, Unopenable>, sqlx::Error> {
        if !is_sealed(&stored) {
            return Ok(Ok(stored));
        }
        let Some(case) = case_of(at) else {
            return Ok(Err(Unopenable));
        };
        Ok(match self.stored(case).await? {
            Some(key) => open(&key, at, &stored),
            None => Err(Unopenable),
        })
    }

    /// Forgets a destroyed case's key in memory (its row is deleted by [`destroy`]).
    pub fn forget(&self, case: &str) {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(case);
    }
}

/// The case's key, made and stored first if it has none, in the transaction that writes the
/// content it seals (so content is never committed without its key). `None` for a destroyed
/// case: nothing of it may be written. Another relay making one at the same moment is fine:
/// the first stored wins, and both read it back.
pub async fn key_in(
    conn: &mut AnyConnection,
    case: &str,
) -> Result<Option<Arc<LessSafeKey>>, sqlx::Error> {
    const READ: &str = "SELECT key FROM case_keys WHERE case_id = $1";
    if let Some(bytes) = sqlx::query_scalar::<_, Vec<u8>>(READ)
        .bind(case)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(key_from(&bytes));
    }
    let mut fresh = [0u8; 32];
    SystemRandom::new().fill(&mut fresh).expect("random bytes");
    sqlx::query(
        "INSERT INTO case_keys (case_id, key, created_at)
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM disposals WHERE case_id = $1)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(case)
    .bind(fresh.to_vec())
    .bind(crate::accounts::now())
    .execute(&mut *conn)
    .await?;
    let bytes = sqlx::query_scalar::<_, Vec<u8>>(READ)
        .bind(case)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(bytes.as_deref().and_then(key_from))
}

/// Deletes a destroyed case's key, so nothing of its content the database still keeps can be
/// read, and rewrites the key table so the key's own bytes are not left in it.
pub async fn destroy(db: &AnyPool, case: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM case_keys WHERE case_id = $1")
        .bind(case)
        .execute(db)
        .await?;
    rewrite_keys(db).await;
    Ok(())
}

/// Deletes the keys of every destroyed case still held (a destruction cut short), at start,
/// and rewrites the key table if any case was ever destroyed (a rewrite may have been missed).
pub async fn destroy_all_destroyed(db: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM case_keys WHERE case_id IN (SELECT case_id FROM disposals)")
        .execute(db)
        .await?;
    rewrite_keys(db).await;
    Ok(())
}

/// PostgreSQL: rewrites the key table (`VACUUM FULL`), so deleted keys leave its files. It
/// needs the table to itself: rather than queue every case's key lookup behind a long reader
/// (a backup, say), it gives up after a few seconds and tries again in the background; the
/// next start tries too. SQLite overwrites deleted rows itself (`secure_delete`).
async fn rewrite_keys(db: &AnyPool) {
    if Dialect::of(db) != Dialect::Postgres {
        return;
    }
    if try_rewrite_keys(db).await.is_ok() {
        return;
    }
    let db = db.clone();
    tokio::spawn(async move {
        for _ in 0..60 {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            match try_rewrite_keys(&db).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "could not rewrite the case key table yet"),
            }
        }
    });
}

async fn try_rewrite_keys(db: &AnyPool) -> Result<(), sqlx::Error> {
    let mut conn = db.acquire().await?;
    sqlx::query("SET lock_timeout = '3s'")
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("VACUUM FULL case_keys")
        .execute(&mut *conn)
        .await
        .map(drop);
    // The connection goes back to the pool: its other statements wait as long as they must.
    let _ = sqlx::query("SET lock_timeout = 0")
        .execute(&mut *conn)
        .await;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[byte; 32]).unwrap())
    }

    #[test]
    fn sealed_content_opens_only_with_its_key_at_its_place() {
        let rng = SystemRandom::new();
        let words = b"Sam said he likes his new teacher.";
        let sealed = seal(&key(1), "case/incremental/abc", words, &rng);
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(words.len()).any(|w| w == words));
        assert_eq!(
            open(&key(1), "case/incremental/abc", &sealed).unwrap(),
            words
        );
        assert!(open(&key(2), "case/incremental/abc", &sealed).is_err());
        assert!(open(&key(1), "case/incremental/abd", &sealed).is_err());
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(open(&key(1), "case/incremental/abc", &damaged).is_err());
        assert!(open(&key(1), "case/incremental/abc", MAGIC).is_err());
        // Sealed twice, never the same bytes.
        assert_ne!(seal(&key(1), "case/x", words, &rng), sealed);
    }

    #[tokio::test]
    async fn memory_for_keys_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let keys = CaseKeys::new(crate::database::open(&url).await.unwrap());
        let one = key_from(&[1; 32]).unwrap();
        keys.remember((0..3 * MOST_KEYS_KEPT).map(|i| (format!("case{i}"), one.clone())));
        assert!(keys.kept() <= MOST_KEYS_KEPT, "{} kept", keys.kept());
        assert!(keys
            .known(&format!("case{}", 3 * MOST_KEYS_KEPT - 1))
            .is_some());
    }

    #[test]
    fn only_case_content_belongs_to_a_case() {
        assert_eq!(case_of("abc/incremental/h"), Some("abc"));
        assert_eq!(case_of("storage-adapter-id"), None);
        assert_eq!(case_of("_health_probe"), None);
    }
}
