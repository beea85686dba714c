//! The receipt journal: which professional's connection brought each change of a case, and
//! when it reached the shared record (the relay's clock, not the device's). The rules live in
//! [`shared::authorship`]; this is their SQL side.
//!
//! Every change a connection brings that the relay does not hold yet is judged before samod
//! sees it: the sender's own are journalled (their actor bound to the sender), anything written
//! under someone else's author or actor is refused. Rows are never updated.

use crate::repos::{Copy, Repos};
use automerge::{ChangeHash, ReadDoc};
use shared::authorship::{claims_in, judge, Claim, Refusal, Verdict};
use shared::untrusted::Rejected;
use sqlx::AnyPool;
use std::time::Duration;

/// Longest the relay waits for its own copy of a case to say which changes it holds.
const HELD_WAIT: Duration = Duration::from_secs(10);

/// A change as the relay received it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Receipt {
    pub change_hash: String,
    pub professional_id: i64,
    /// Unix milliseconds.
    pub received_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Unreadable(#[from] Rejected),
    #[error("the journal could not be written: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the relay's copy of the case did not answer")]
    Unavailable,
}

#[derive(Clone)]
pub struct Journal {
    pool: AnyPool,
}

impl Journal {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Judges `claims` (changes of `case` the relay does not hold, in the order sent) from
    /// `sender`, and journals them all, or none if any is refused. Returns how many receipts
    /// were written.
    pub async fn vouch(
        &self,
        case: &str,
        sender: i64,
        claims: &[Claim],
    ) -> Result<usize, JournalError> {
        if claims.is_empty() {
            return Ok(0);
        }
        let mut conn = self.pool.acquire().await?;
        let dialect = crate::database::Dialect::of(&self.pool);
        let result = Self::vouch_on(&mut conn, dialect, case, sender, claims).await;
        if matches!(result, Err(JournalError::Db(_))) {
            // After an error (a full disk, say) SQLite's state and the pool's idea of it can
            // differ; this connection is not used again (see crate::storage).
            conn.close_on_drop();
        }
        result
    }

    async fn vouch_on(
        conn: &mut sqlx::AnyConnection,
        dialect: crate::database::Dialect,
        case: &str,
        sender: i64,
        claims: &[Claim],
    ) -> Result<usize, JournalError> {
        let at = crate::accounts::now_ms();
        // Writing at once: two connections (or relays) binding the same new actor are taken
        // one after the other.
        let mut tx =
            crate::database::begin_writing(conn, dialect, crate::database::Lock::Journal).await?;
        let mut written = 0;
        for claim in claims {
            let hash = claim.hash.to_string();
            let actor = claim.actor.to_hex_string();
            let received_from: Option<i64> = sqlx::query_scalar(
                "SELECT professional_id FROM change_receipts WHERE case_id = $1 AND change_hash = $2",
            )
            .bind(case)
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT professional_id FROM change_actors WHERE actor = $1")
                    .bind(&actor)
                    .fetch_optional(&mut *tx)
                    .await?;
            match judge(sender, claim, owner, received_from) {
                Verdict::Known => {}
                Verdict::Refused(why) => return Err(why.into()),
                Verdict::Receipt => {
                    if owner.is_none() {
                        sqlx::query(
                            "INSERT INTO change_actors (actor, professional_id, bound_at) VALUES ($1, $2, $3)",
                        )
                        .bind(&actor)
                        .bind(sender)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query(
                        "INSERT INTO change_receipts (case_id, change_hash, professional_id, received_at)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(case)
                    .bind(&hash)
                    .bind(sender)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    written += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Checks and journals the changes a sync message from `sender` brings for `case`. The
    /// message must already have passed [`crate::untrusted`]'s checks.
    pub async fn check_message(
        &self,
        repos: &Repos,
        case: &str,
        sender: i64,
        message: &automerge::sync::Message,
    ) -> Result<usize, JournalError> {
        if message.changes.is_empty() {
            return Ok(0);
        }
        let claims = claims_in(message.changes.iter())?;
        self.check_claims(repos, case, sender, claims).await
    }

    /// Checks and journals the changes stored chunks from `sender` bring for `case` (a
    /// device's whole copy, say). The bytes must already have passed [`crate::untrusted`]'s
    /// checks.
    pub async fn check_chunks(
        &self,
        repos: &Repos,
        case: &str,
        sender: i64,
        bytes: &[u8],
    ) -> Result<usize, JournalError> {
        // Reading a whole document is CPU work: off the threads serving connections.
        let owned = bytes.to_vec();
        let claims = tokio::task::spawn_blocking(move || claims_in([owned.as_slice()]))
            .await
            .map_err(|_| {
                JournalError::Unreadable(Rejected("the copy could not be read".into()))
            })??;
        self.check_claims(repos, case, sender, claims).await
    }

    /// Journals those of `claims` the relay's copy of `case` does not hold yet.
    async fn check_claims(
        &self,
        repos: &Repos,
        case: &str,
        sender: i64,
        claims: Vec<Claim>,
    ) -> Result<usize, JournalError> {
        let hashes: Vec<ChangeHash> = claims.iter().map(|c| c.hash).collect();
        let held = self.held(repos, case, hashes).await?;
        let new: Vec<Claim> = claims
            .into_iter()
            .zip(held)
            .filter_map(|(claim, held)| (!held).then_some(claim))
            .collect();
        self.vouch(case, sender, &new).await
    }

    /// Which of `hashes` the relay's copy of `case` holds already.
    async fn held(
        &self,
        repos: &Repos,
        case: &str,
        hashes: Vec<ChangeHash>,
    ) -> Result<Vec<bool>, JournalError> {
        // Nothing stored: the relay holds nothing.
        let lookup = move |doc: &automerge::Automerge| {
            hashes
                .iter()
                .map(|h| doc.get_change_by_hash(h).is_some())
                .collect::<Vec<_>>()
        };
        match relay_copy(repos, &self.pool, case).await? {
            None => Ok(lookup(&automerge::Automerge::new())),
            Some(copy) => match tokio::time::timeout(HELD_WAIT, copy.read(lookup)).await {
                Ok(Some(held)) => Ok(held),
                _ => Err(JournalError::Unavailable),
            },
        }
    }

    /// When each of `cases` last took a change (Unix ms), for those that have any. Asked for
    /// every device's case list: the newest receipt only, read off the index's end.
    pub async fn last_changes<'a>(
        &self,
        cases: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
        let rows = self
            .per_case(cases, "MAX(received_at), CAST(0 AS BIGINT)")
            .await?;
        Ok(rows
            .into_iter()
            .map(|(case, (last, _))| (case, last))
            .collect())
    }

    /// For each of `cases` that has any: when it last took a change (Unix ms) and how many
    /// changes it has taken. Receipts are never deleted, so the pair moves with every change,
    /// even one stamped earlier than the newest (a clock stepped back).
    pub async fn change_marks<'a>(
        &self,
        cases: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, (i64, i64)>, sqlx::Error> {
        self.per_case(cases, "MAX(received_at), COUNT(*)").await
    }

    /// Two figures over each case's receipts (`figures`, two SQL aggregates).
    async fn per_case<'a>(
        &self,
        cases: impl IntoIterator<Item = &'a str>,
        figures: &str,
    ) -> Result<std::collections::HashMap<String, (i64, i64)>, sqlx::Error> {
        let mut out = std::collections::HashMap::new();
        // One query per few hundred cases: SQLite limits how many values one query binds.
        let cases: Vec<&str> = cases.into_iter().collect();
        for part in cases.chunks(500) {
            let marks = (1..=part.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT case_id, {figures} FROM change_receipts
                 WHERE case_id IN ({marks}) GROUP BY case_id"
            );
            let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql);
            for case in part {
                query = query.bind(*case);
            }
            let rows = query.fetch_all(&self.pool).await?;
            out.extend(rows.into_iter().map(|(case, a, b)| (case, (a, b))));
        }
        Ok(out)
    }

    /// Every receipt of a case, oldest first.
    pub async fn for_case(&self, case: &str) -> Result<Vec<Receipt>, sqlx::Error> {
        sqlx::query_as(
            "SELECT change_hash, professional_id, received_at FROM change_receipts
             WHERE case_id = $1 ORDER BY received_at, change_hash",
        )
        .bind(case)
        .fetch_all(&self.pool)
        .await
    }
}

/// The relay's copy of a case, or `None` if nothing of it is stored. Without a stored copy
/// samod is not asked: it would ask the connected clients, one of whom may be waiting on this.
async fn relay_copy(
    repos: &Repos,
    pool: &AnyPool,
    case: &str,
) -> Result<Option<Copy>, JournalError> {
    if !crate::storage::holds_document(pool, case).await? {
        return Ok(None);
    }
    if case.parse::<samod::DocumentId>().is_err() {
        return Ok(None);
    }
    match tokio::time::timeout(HELD_WAIT, repos.copy(case)).await {
        Ok(Ok(Some(copy))) => Ok(Some(copy)),
        _ => Err(JournalError::Unavailable),
    }
}

/// Reads the relay's copy of a case with `read`; `None` if the relay holds no copy (or it could
/// not be reached in time).
pub async fn read_case<T: Send + 'static>(
    repos: &Repos,
    pool: &AnyPool,
    case: &str,
    read: impl FnOnce(&automerge::Automerge) -> T + Send + 'static,
) -> Option<T> {
    relay_copy(repos, pool, case).await.ok()??.read(read).await
}

/// Another relay works on the case now: change it there (see [`crate::cluster`]).
#[derive(Debug)]
pub struct Elsewhere;

/// Changes the relay's copy of a case with `change`: samod stores what changed and sends it
/// to everyone syncing the case. `None` if the relay holds no copy.
pub async fn change_case<T: Send + 'static>(
    repos: &Repos,
    pool: &AnyPool,
    case: &str,
    change: impl FnOnce(&mut automerge::Automerge) -> T + Send + 'static,
) -> Option<Result<T, Elsewhere>> {
    match relay_copy(repos, pool, case).await.ok()?? {
        Copy::Live(handle) => handle.with_document_async(change).await.ok().map(Ok),
        Copy::Stored(_) => Some(Err(Elsewhere)),
    }
}

/// The history of the relay's copy of a case (see [`shared::record::history`]); `None` if the
/// relay holds no copy.
pub async fn sittings(
    repos: &Repos,
    pool: &AnyPool,
    case: &str,
    receipts: std::collections::HashMap<ChangeHash, shared::record::history::Received>,
) -> Option<Vec<shared::record::history::Sitting>> {
    read_case(repos, pool, case, move |doc| {
        shared::record::history::sittings(doc, &receipts, None)
    })
    .await
}
