//! Retention and disposal: how long closed cases are kept ([`RetentionRule`], set by a system
//! administrator), legal holds, and destruction approved by the named records manager.
//!
//! Destroying a case: its tombstone and the destruction log entry are written (`disposals`:
//! ids, rule, dates, approver; no content); everyone on its team leaves it, so each of their
//! devices removes its copy at next contact (without handing anything over) and says so
//! ([`crate::departure`]); every stored part of it is deleted, and the store refuses to write
//! or read it again, whatever samod still holds in memory until its shard unloads. Audit rows
//! that name the case hold ids only, and stay. The id is never taken again: registering it is
//! refused (its `cases` row stays, with nobody on the team), sync is refused to everyone, and
//! a device that comes back with a full copy is told the case is gone.
//!
//! A case's content is stored sealed with a key of its own ([`crate::sealing`]), and
//! destroying it deletes the key: PostgreSQL keeps deleted rows' bytes in its files until they
//! are reused (`VACUUM documents` frees the space but does not overwrite it), but without the
//! key they cannot be read, and the small key table is rewritten (`VACUUM FULL`) so the key's
//! own bytes leave its files. SQLite deletes with `secure_delete` on, so deleted rows are
//! overwritten, and its write-ahead log is emptied afterwards. Content stored before sealing
//! began is sealed once at start; what the database freed before then may still hold it (run
//! `VACUUM` on SQLite, `VACUUM FULL documents` on PostgreSQL, once). A write-ahead log segment
//! or backup made before the destruction still holds the key until the database recycles it
//! or the council's backup policy ages it out.
//!
//! Destroying is resumable: asked again for a destroyed case, the relay repeats every step
//! after the tombstone, and at start it erases what is stored for every tombstone (a write
//! in flight at the moment of destruction, or a relay that missed being told).

use crate::api::{self, ApiError, ApiResult, Body, Path};
use crate::audit::Event;
use crate::auth::{ClientAddr, SignedIn};
use crate::database::Dialect;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use shared::api::{
    DestroyedCase, DueCase, HoldRequest, LegalHold, RecordsSettings, Role as AccountRole,
};
use shared::record::dates::{uk_day, Day};
use shared::record::retention::{closed_on, disposal_due, Due, RetentionRule};
use shared::record::CaseRecord;
use sqlx::AnyPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/records/settings", get(settings).put(set_settings))
        .route("/records/due", get(due))
        .route("/records/destroyed", get(destroyed))
        .route("/records/{id}/hold", put(hold).delete(lift_hold))
        .route("/records/{id}/destroy", post(destroy))
}

/// The longest reason for a legal hold.
const MAX_REASON: usize = 500;

/// When each case falls due, as last worked out from its document, keyed by the rule and the
/// case's change marks ([`crate::journal::Journal::change_marks`]): the due list then reads
/// only the cases that changed since it last asked and those that are due (for their
/// children's names), not every case on every request. Kept in memory and in the database
/// (`disposal_due`), so a restarted relay, or another sharing the database, need not read every
/// case again; it holds no names.
///
/// An answer is trusted for [`TRUSTED_MS`] at most: a change can reach a case's copy without
/// moving its marks (sent again after a relay restart, its receipt already written), so a
/// wrong answer lasts no longer than that. Retention runs in years; a week is nothing to it.
#[derive(Clone, Default)]
pub struct DueCache {
    known: Arc<Mutex<HashMap<String, Known>>>,
    /// Whether what the database holds has been read in (once, at the first due list).
    loaded: Arc<tokio::sync::OnceCell<()>>,
}

/// Why a case read back from the database is not due: what was worked out then is not kept.
const NOT_YET_STORED: &str = "not due when last worked out";

/// How long an answer is trusted (see [`DueCache`]).
const TRUSTED_MS: i64 = 7 * 24 * 3600 * 1000;

/// A case's change marks: its newest change (Unix ms) and how many it has taken.
type Marks = Option<(i64, i64)>;

#[derive(Clone)]
struct Known {
    rule: RetentionRule,
    marks: Marks,
    due: Due,
    /// When it was worked out (Unix ms).
    at: i64,
}

impl Known {
    fn answers(&self, rule: RetentionRule, marks: Marks, now: i64) -> bool {
        self.rule == rule && self.marks == marks && now - self.at < TRUSTED_MS
    }
}

/// A case changed more recently than this is read afresh: its receipt is written before the
/// change reaches the relay's copy, and another relay saves its copy a moment later.
const SETTLED_MS: i64 = 10 * 60 * 1000;

fn settled(marks: Marks, now: i64) -> bool {
    marks.is_none_or(|(last, _)| now - last >= SETTLED_MS)
}

impl DueCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        // Cached answers only: a panic elsewhere cannot leave one half-written.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads in what the database holds, once; what this relay worked out since it started
    /// stays. A row that does not read back, or is too old to trust, is left out (worked out
    /// again when asked).
    async fn load(&self, db: &AnyPool, now: i64) -> Result<(), sqlx::Error> {
        self.loaded
            .get_or_try_init(|| async {
                type Row = (
                    String,
                    String,
                    Option<i64>,
                    Option<i64>,
                    Option<String>,
                    i64,
                );
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT case_id, rule, last_change, changes, due, worked_out_at
                     FROM disposal_due WHERE worked_out_at > $1",
                )
                .bind(now - TRUSTED_MS)
                .fetch_all(db)
                .await?;
                let mut known = self.lock();
                for (case, rule, last, changes, due, at) in rows {
                    let Ok(rule) = serde_json::from_str(&rule) else {
                        continue;
                    };
                    let due = match due {
                        None => Due::NotYet(NOT_YET_STORED),
                        Some(day) => match Day::parse(&day) {
                            Some(day) => Due::On(day),
                            None => continue,
                        },
                    };
                    let marks = last.zip(changes);
                    known.entry(case).or_insert(Known {
                        rule,
                        marks,
                        due,
                        at,
                    });
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// What is known of `case` under `rule`, if it still holds: the case has not changed
    /// since, had been quiet a while when it was worked out, and that was recent enough (`now`,
    /// Unix ms).
    fn get(&self, case: &str, rule: RetentionRule, marks: Marks, now: i64) -> Option<Due> {
        if !settled(marks, now) {
            return None;
        }
        self.lock()
            .get(case)
            .filter(|k| k.answers(rule, marks, now))
            .map(|k| k.due.clone())
    }

    /// Keeps what was worked out at `now`, unless the case changed too lately to trust it;
    /// answers it if the database should have it too (news, or what it has is getting old).
    fn put(
        &self,
        case: &str,
        rule: RetentionRule,
        marks: Marks,
        now: i64,
        due: Due,
    ) -> Option<Known> {
        if !settled(marks, now) {
            return None;
        }
        let mut known = self.lock();
        let fresh = known.get(case).is_some_and(|k| {
            k.answers(rule, marks, now + TRUSTED_MS / 2)
                && match (&k.due, &due) {
                    (Due::On(a), Due::On(b)) => a == b,
                    (Due::NotYet(_), Due::NotYet(_)) => true,
                    _ => false,
                }
        });
        if fresh {
            return None;
        }
        let new = Known {
            rule,
            marks,
            due,
            at: now,
        };
        known.insert(case.to_string(), new.clone());
        Some(new)
    }

    /// Writes what [`DueCache::put`] said the database should have, in one transaction.
    async fn store(&self, db: &AnyPool, rows: &[(String, Known)]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        for (case, k) in rows {
            let day = match &k.due {
                Due::On(day) => Some(day.iso()),
                Due::NotYet(_) => None,
            };
            sqlx::query(
                "INSERT INTO disposal_due (case_id, rule, last_change, changes, due, worked_out_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (case_id) DO UPDATE SET rule = excluded.rule,
                     last_change = excluded.last_change, changes = excluded.changes,
                     due = excluded.due, worked_out_at = excluded.worked_out_at",
            )
            .bind(case)
            .bind(serde_json::to_string(&k.rule).unwrap_or_default())
            .bind(k.marks.map(|(last, _)| last))
            .bind(k.marks.map(|(_, n)| n))
            .bind(day)
            .bind(k.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    async fn forget(&self, db: &AnyPool, case: &str) -> Result<(), sqlx::Error> {
        self.lock().remove(case);
        sqlx::query("DELETE FROM disposal_due WHERE case_id = $1")
            .bind(case)
            .execute(db)
            .await
            .map(|_| ())
    }
}

/// Whether a case has been destroyed.
pub async fn is_destroyed(db: &AnyPool, case: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM disposals WHERE case_id = $1")
        .bind(case)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// The answer to the records manager about a destroyed case.
fn already_destroyed() -> ApiError {
    ApiError::new(StatusCode::GONE, "This case has already been destroyed.")
}

/// Erases what is stored of every destroyed case (at start; see the module's note).
pub async fn sweep(db: &AnyPool) -> Result<(), sqlx::Error> {
    let destroyed: Vec<String> = sqlx::query_scalar("SELECT case_id FROM disposals")
        .fetch_all(db)
        .await?;
    if destroyed.is_empty() {
        return Ok(());
    }
    for case in &destroyed {
        delete_parts(db, case).await?;
    }
    crate::sealing::destroy_all_destroyed(db).await?;
    compact(db).await
}

/// The answer to anything sent for a destroyed case.
pub fn gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "This case was destroyed under your organisation's records policy, so nothing more can \
         be added to it.",
    )
}

async fn setting(db: &AnyPool, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

async fn put_setting(db: &AnyPool, name: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(db)
    .await?;
    Ok(())
}

/// The deployment's rule (the default until a system administrator sets one).
async fn rule(db: &AnyPool) -> Result<RetentionRule, sqlx::Error> {
    Ok(setting(db, "retention_rule")
        .await?
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or_default())
}

async fn manager(db: &AnyPool) -> Result<Option<i64>, sqlx::Error> {
    Ok(setting(db, "records_manager")
        .await?
        .and_then(|v| v.parse().ok()))
}

async fn must_manage(state: &AppState, me: i64) -> ApiResult<()> {
    if manager(&state.db).await? == Some(me) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only your organisation's records manager can do this.",
        ))
    }
}

async fn settings(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<RecordsSettings>> {
    let manager = manager(&state.db).await?;
    let name = match manager {
        Some(id) => {
            sqlx::query_scalar::<_, String>("SELECT name FROM professionals WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.db)
                .await?
        }
        None => None,
    };
    Ok(Json(RecordsSettings {
        rule: rule(&state.db).await?,
        records_manager_id: manager,
        records_manager_name: name,
        you_manage: manager == Some(me.professional.id),
    }))
}

async fn set_settings(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Body(new): Body<RecordsSettings>,
) -> ApiResult<StatusCode> {
    if me.professional.role != AccountRole::SystemAdmin {
        return Err(ApiError::forbidden(
            "Only a system administrator can set how long records are kept.",
        ));
    }
    if !new.rule.is_valid() {
        return Err(ApiError::bad_request(
            "Enter a number of years between 1 and 100.",
        ));
    }
    if let Some(id) = new.records_manager_id {
        let active: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM professionals WHERE id = $1 AND active = 1")
                .bind(id)
                .fetch_optional(&state.db)
                .await?;
        if active.is_none() {
            return Err(ApiError::bad_request(
                "Choose a records manager from the people who can sign in.",
            ));
        }
    }
    let rule_json = serde_json::to_string(&new.rule).unwrap_or_default();
    put_setting(&state.db, "retention_rule", &rule_json).await?;
    put_setting(
        &state.db,
        "records_manager",
        &new.records_manager_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
    )
    .await?;
    let mut event = Event::new("records_settings_changed", "success")
        .actor(me.professional.id)
        .client(client);
    if let Some(id) = new.records_manager_id {
        event = event.professional(id);
    }
    state.audit.record(event).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A case's child's name, whether it was ever closed, and when it is due under `rule`, from the
/// relay's copy; `None` if the relay holds no readable copy.
async fn due_of(
    state: &AppState,
    case: &str,
    rule: RetentionRule,
    last_change: Option<Day>,
) -> Option<(String, bool, Due)> {
    let record = crate::journal::read_case(&state.repos, &state.db, case, |doc| {
        CaseRecord::from_document(doc).ok()
    })
    .await??;
    let name = record
        .family
        .people
        .iter()
        .find(|p| p.is_child_of_case())
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let closed = closed_on(&record).is_some();
    Some((name, closed, disposal_due(&record, rule, last_change)))
}

async fn holds(state: &AppState) -> ApiResult<std::collections::HashMap<String, LegalHold>> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT h.case_id, h.reason, p.name, h.placed_at FROM legal_holds h
         JOIN professionals p ON p.id = h.placed_by",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(case, reason, placed_by, placed_at)| {
            (
                case,
                LegalHold {
                    reason,
                    placed_by,
                    placed_at,
                },
            )
        })
        .collect())
}

/// Cases whose retention period has ended (an open one counted from its last change), held or
/// not.
async fn due(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
) -> ApiResult<Json<Vec<DueCase>>> {
    must_manage(&state, me.professional.id).await?;
    let rule = rule(&state.db).await?;
    let cases: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM cases WHERE id NOT IN (SELECT case_id FROM disposals) ORDER BY id",
    )
    .fetch_all(&state.db)
    .await?;
    let marks = state
        .journal
        .change_marks(cases.iter().map(String::as_str))
        .await?;
    let mut holds = holds(&state).await?;
    let now = crate::accounts::now_ms();
    let today = uk_day(now);
    // Only a cache: if the database cannot give it, every case is read.
    if let Err(e) = state.due_cache.load(&state.db, now).await {
        tracing::warn!(error = %e, "could not read the due dates worked out before");
    }
    let mut fresh = Vec::new();
    let mut out = Vec::new();
    for case in cases {
        let marks = marks.get(&case).copied();
        // Known not to be due: nothing to read. Due, or not known: read it (a due case for its
        // child's name).
        match state.due_cache.get(&case, rule, marks, now) {
            Some(Due::NotYet(_)) => continue,
            Some(Due::On(day)) if day > today => continue,
            _ => {}
        }
        let last_change = marks.map(|(last, _)| uk_day(last));
        let Some((child_name, closed, due)) = due_of(&state, &case, rule, last_change).await else {
            continue;
        };
        if let Some(known) = state.due_cache.put(&case, rule, marks, now, due.clone()) {
            fresh.push((case.clone(), known));
        }
        let Due::On(day) = due else { continue };
        if day <= today {
            out.push(DueCase {
                hold: holds.remove(&case),
                case_id: case,
                child_name,
                due: day.iso(),
                never_closed: last_change.filter(|_| !closed).map(|d| d.iso()),
            });
        }
    }
    if let Err(e) = state.due_cache.store(&state.db, &fresh).await {
        tracing::warn!(error = %e, "could not keep the due dates worked out");
    }
    out.sort_by(|a, b| a.due.cmp(&b.due));
    // The list names children: who looked at it is on record.
    state
        .audit
        .record(
            Event::new("records_due_listed", "success")
                .actor(me.professional.id)
                .client(client),
        )
        .await;
    Ok(Json(out))
}

async fn registered_case(state: &AppState, id: &str) -> ApiResult<String> {
    let case = api::case_id(id)?;
    if !state.access.is_registered(&case) {
        return Err(ApiError::not_found("case"));
    }
    if is_destroyed(&state.db, &case).await? {
        return Err(already_destroyed());
    }
    Ok(case)
}

async fn hold(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Body(body): Body<HoldRequest>,
) -> ApiResult<StatusCode> {
    must_manage(&state, me.professional.id).await?;
    let case = registered_case(&state, &id).await?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::bad_request(&format!(
            "Say why the case must be kept, in {MAX_REASON} characters or fewer."
        )));
    }
    sqlx::query(
        "INSERT INTO legal_holds (case_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id) DO UPDATE SET reason = excluded.reason,
             placed_by = excluded.placed_by, placed_at = excluded.placed_at",
    )
    .bind(&case)
    .bind(reason)
    .bind(me.professional.id)
    .bind(crate::accounts::now())
    .execute(&state.db)
    .await?;
    state
        .audit
        .record(
            Event::new("legal_hold_placed", "success")
                .actor(me.professional.id)
                .case(&case)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn lift_hold(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    must_manage(&state, me.professional.id).await?;
    let case = registered_case(&state, &id).await?;
    let lifted = sqlx::query("DELETE FROM legal_holds WHERE case_id = $1")
        .bind(&case)
        .execute(&state.db)
        .await?
        .rows_affected();
    if lifted > 0 {
        state
            .audit
            .record(
                Event::new("legal_hold_lifted", "success")
                    .actor(me.professional.id)
                    .case(&case)
                    .client(client),
            )
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The records manager approves destroying a case that is due and not held.
async fn destroy(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    must_manage(&state, me.professional.id).await?;
    let case = api::case_id(&id)?;
    if !state.access.is_registered(&case) {
        return Err(ApiError::not_found("case"));
    }
    let refused = |outcome: &'static str| {
        Event::new("case_destroyed", outcome)
            .actor(me.professional.id)
            .case(&case)
            .client(client)
    };
    // Destroyed before, perhaps not all the way (an error, or the request cut short): every
    // step after the tombstone again.
    if is_destroyed(&state.db, &case).await? {
        finish_destroying(&state, &case).await?;
        return Err(already_destroyed());
    }
    if holds(&state).await?.contains_key(&case) {
        state.audit.record(refused("refused_legal_hold")).await;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This case is under a legal hold, so it cannot be destroyed. Lift the hold first.",
        ));
    }
    let rule = rule(&state.db).await?;
    let last = state.journal.last_changes([case.as_str()]).await?;
    let last_change = last.get(&case).map(|ms| uk_day(*ms));
    let today = uk_day(crate::accounts::now_ms());
    let day =
        match due_of(&state, &case, rule, last_change).await {
            Some((_, _, Due::On(day))) if day <= today => day,
            Some((_, _, Due::On(day))) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "This case is kept until {}, so it cannot be destroyed yet.",
                        day.in_words()
                    ),
                ))
            }
            Some((_, _, Due::NotYet(why))) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("This case cannot be destroyed: {why}."),
                ))
            }
            None => return Err(ApiError::new(
                StatusCode::CONFLICT,
                "The server cannot read this case just now, so it cannot be destroyed. Try again \
                 later.",
            )),
        };
    // The tombstone first: from here the id is never taken again. Written only if no legal
    // hold has been placed meanwhile.
    let written = sqlx::query(
        "INSERT INTO disposals (case_id, rule, due, approved_by, disposed_at)
         SELECT $1, $2, $3, $4, $5
         WHERE NOT EXISTS (SELECT 1 FROM legal_holds WHERE case_id = $1)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(&case)
    .bind(rule.in_words())
    .bind(day.iso())
    .bind(me.professional.id)
    .bind(crate::accounts::now())
    .execute(&state.db)
    .await?
    .rows_affected();
    if written == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This case was placed under a legal hold or destroyed a moment ago. Reload the page.",
        ));
    }
    finish_destroying(&state, &case).await?;
    state.audit.record(refused("success")).await;
    // A write already on its way when the store was told may land just after the erasing:
    // erase once more a little later.
    let db = state.db.clone();
    let again = case.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        if let Err(e) = erase(&db, &again).await {
            tracing::error!(case = %again, error = %e, "could not erase a destroyed case again");
        }
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Every step of destroying after the tombstone; each can be repeated.
async fn finish_destroying(state: &AppState, case: &str) -> Result<(), sqlx::Error> {
    state.repos.destroyed(case);
    if let Some(cluster) = &state.cluster {
        cluster.tell_destroyed(case).await;
    }
    // Everyone leaves the team: their devices remove their copies at next contact.
    let members: Vec<i64> = state
        .access
        .members(case)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    state.access.remove_all(case, &members).await?;
    erase(&state.db, case).await?;
    // Last, and not worth failing for: the due list leaves destroyed cases out anyway.
    if let Err(e) = state.due_cache.forget(&state.db, case).await {
        tracing::warn!(case = %case, error = %e, "could not forget a destroyed case's due date");
    }
    Ok(())
}

/// Deletes every stored part of a case, and what the database keeps of deleted rows where it
/// can (see the module's note).
async fn erase(db: &AnyPool, case: &str) -> Result<(), sqlx::Error> {
    delete_parts(db, case).await?;
    // Whatever the database still keeps of its content cannot be read without its key.
    crate::sealing::destroy(db, case).await?;
    compact(db).await
}

/// Deletes the rows that hold the case's content.
async fn delete_parts(db: &AnyPool, case: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM documents WHERE key = $1 OR (key >= $2 AND key < $3)")
        .bind(case)
        .bind(format!("{case}/"))
        .bind(format!("{case}0"))
        .execute(db)
        .await?;
    // A subject access review holds the words chosen to withhold: case content too.
    sqlx::query("DELETE FROM subject_access_requests WHERE case_id = $1")
        .bind(case)
        .execute(db)
        .await?;
    Ok(())
}

/// What the database keeps of deleted rows, gone where it can be (see the module's note).
async fn compact(db: &AnyPool) -> Result<(), sqlx::Error> {
    match Dialect::of(db) {
        Dialect::Sqlite => {
            // The log is emptied only when no reader is using it: try a few times.
            for _ in 0..20 {
                let (busy, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(db)
                        .await?;
                if busy == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Dialect::Postgres => {
            sqlx::query("VACUUM documents").execute(db).await?;
        }
    }
    Ok(())
}

/// The destruction log, with the people whose devices have not yet confirmed.
async fn destroyed(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<Vec<DestroyedCase>>> {
    if me.professional.role != AccountRole::SystemAdmin {
        must_manage(&state, me.professional.id).await?;
    }
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT d.case_id, d.rule, d.due, p.name, d.disposed_at FROM disposals d
         JOIN professionals p ON p.id = d.approved_by ORDER BY d.disposed_at DESC",
    )
    .fetch_all(&state.db)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (case_id, rule, due, approved_by, destroyed_at) in rows {
        let devices_confirmed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM device_copies_removed WHERE case_id = $1 AND because = 'destroyed'",
        )
        .bind(&case_id)
        .fetch_one(&state.db)
        .await?;
        // Those the destruction removed from the team (not those who had left before), who
        // can still sign in, and none of whose devices has confirmed since; with whether the
        // audit shows the case served to them (or stopped noting what it served them).
        let unconfirmed: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.name, (
                 SELECT COUNT(*) FROM audit a
                 WHERE a.actor_professional_id = d.professional_id AND a.event = 'sync_access'
                   AND ((a.case_id = d.case_id AND a.outcome = 'served')
                        OR a.outcome = 'audit_suppressed'))
             FROM departures d JOIN professionals p ON p.id = d.professional_id
             WHERE d.case_id = $1 AND d.left_at >= $2 AND p.active = 1 AND NOT EXISTS (
                 SELECT 1 FROM device_copies_removed r
                 WHERE r.case_id = d.case_id AND r.professional_id = d.professional_id
                   AND r.removed_at >= $2 AND r.because NOT LIKE '%_after_sign_out')
             ORDER BY p.name",
        )
        .bind(&case_id)
        .bind(destroyed_at)
        .fetch_all(&state.db)
        .await?;
        let (served, never): (Vec<_>, Vec<_>) =
            unconfirmed.into_iter().partition(|(_, served)| *served > 0);
        let waiting_for = served.into_iter().map(|(name, _)| name).collect();
        let never_opened = never.into_iter().map(|(name, _)| name).collect();
        out.push(DestroyedCase {
            case_id,
            rule,
            due,
            approved_by,
            destroyed_at,
            devices_confirmed: devices_confirmed.max(0) as usize,
            waiting_for,
            never_opened,
        });
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * 60 * 1000;

    #[test]
    fn a_due_date_is_kept_only_for_a_quiet_case_and_until_it_changes() {
        let cache = DueCache::default();
        let rule = RetentionRule::default();
        let due = Due::On(Day::parse("2030-01-01").unwrap());
        let now = 100 * HOUR;
        let quiet = Some((now - HOUR, 40));
        cache.put("c", rule, quiet, now, due.clone());
        assert_eq!(cache.get("c", rule, quiet, now), Some(due.clone()));
        // Any new change moves the marks, even one stamped earlier than the newest.
        assert_eq!(cache.get("c", rule, Some((now - HOUR, 41)), now), None);
        assert_eq!(cache.get("c", rule, Some((now, 41)), now), None);
        // Another rule is another question.
        let other = RetentionRule::AfterBirth { years: 30 };
        assert_eq!(cache.get("c", other, quiet, now), None);
        // A case changed a minute ago may not have taken that change in yet: never kept.
        let lately = Some((now - 60_000, 41));
        cache.put(
            "c",
            rule,
            lately,
            now,
            Due::NotYet("the case is not closed"),
        );
        assert_eq!(cache.get("c", rule, lately, now), None);
        assert_eq!(cache.get("c", rule, quiet, now), Some(due));
    }

    #[tokio::test]
    async fn what_was_worked_out_outlives_a_restart_for_a_week_and_goes_with_the_case() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = crate::database::open(&url).await.unwrap();
        let rule = RetentionRule::default();
        let now = 1_000 * HOUR;
        let quiet = Some((now - HOUR, 40));
        let lately = Some((now - 60_000, 3));
        let due = Due::On(Day::parse("2030-01-01").unwrap());
        let open = Due::NotYet("the case is not closed");
        let first = DueCache::default();
        first.load(&db, now).await.unwrap();
        let mut rows = Vec::new();
        for (case, marks, due) in [("a", quiet, &due), ("b", None, &open), ("c", lately, &due)] {
            if let Some(k) = first.put(case, rule, marks, now, due.clone()) {
                rows.push((case.to_string(), k));
            }
        }
        assert_eq!(rows.len(), 2, "a case changed a minute ago is not kept");
        // The same answer again is no news.
        assert!(first
            .put("a", rule, quiet, now + HOUR, due.clone())
            .is_none());
        first.store(&db, &rows).await.unwrap();

        // A restarted relay (or another sharing the database) knows what was kept...
        let again = DueCache::default();
        again.load(&db, now + HOUR).await.unwrap();
        assert_eq!(again.get("a", rule, quiet, now + HOUR), Some(due.clone()));
        assert!(matches!(
            again.get("b", rule, None, now),
            Some(Due::NotYet(_))
        ));
        assert_eq!(again.get("c", rule, lately, now + HOUR), None);
        // ...for a week at most, in memory or read back.
        let week_on = now + TRUSTED_MS + 1;
        assert_eq!(again.get("a", rule, quiet, week_on), None);
        let later = DueCache::default();
        later.load(&db, week_on).await.unwrap();
        assert_eq!(later.get("a", rule, quiet, now + HOUR), None);

        // A destroyed case is forgotten everywhere.
        again.forget(&db, "a").await.unwrap();
        let third = DueCache::default();
        third.load(&db, now + HOUR).await.unwrap();
        assert_eq!(third.get("a", rule, quiet, now + HOUR), None);
        assert!(third.get("b", rule, None, now + HOUR).is_some());
    }
}
