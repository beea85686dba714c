//! Who may sync which case: case memberships, kept in SQL and mirrored in memory.
//!
//! The in-memory copy answers every access check synchronously (the sync socket checks each
//! frame; samod asks per document and peer), and it is updated *before* an API call that changes
//! membership returns, so the change is in force for frames sent after that moment.
//!
//! Two places enforce it, on purpose:
//! - [`CasePolicy`], samod's `SharePolicy`: samod subscribes one stream per (document, peer)
//!   and re-applies each new decision to open connections, so a removed member stops receiving
//!   the case without reconnecting;
//! - the sync socket's frame filter (`crate::sync`), which answers non-members' requests itself
//!   with `doc-unavailable` (the same answer as for an unknown id) and drops outbound frames
//!   about cases the peer is not a member of, so nothing already queued inside samod leaks
//!   between a removal and samod applying it.
//!
//! Deny by default: unknown case, unknown peer id, inactive professional, all mean no access.
//!
//! Several relays on one database ([`crate::cluster`]) each keep this copy: every change made
//! here is told to the others ([`Note`]), removals before they are committed, so that they
//! too refuse first.

use crate::accounts::now;
use crate::auth::professional_of_peer;
use crate::cluster::{Tell, ACCESS_CHANNEL};
use futures::Stream;
use shared::api::CaseRole;
use sqlx::AnyPool;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};
use tokio::sync::broadcast;

/// Something that may change who can see a case. `None` means "any".
#[derive(Debug, Clone)]
pub struct Change {
    pub case_id: Option<String>,
    pub professional_id: Option<i64>,
}

impl Change {
    fn concerns(&self, case_id: &str, professional_id: i64) -> bool {
        self.case_id.as_deref().is_none_or(|c| c == case_id)
            && self.professional_id.is_none_or(|p| p == professional_id)
    }
}

#[derive(Default)]
struct Cache {
    /// Registered cases and their members.
    cases: HashMap<String, HashMap<i64, CaseRole>>,
    inactive: HashSet<i64>,
}

/// Case memberships: the database, its in-memory mirror, and a change signal.
#[derive(Clone)]
pub struct Access {
    pool: AnyPool,
    cache: Arc<RwLock<Cache>>,
    changes: broadcast::Sender<Change>,
    /// The other relays sharing the database, if any.
    relays: Arc<OnceLock<Tell>>,
}

/// A change to memberships, as told to the other relays: `g|case|id` (gone: refuse now, sent
/// before the removal is committed), `i|id` (a leaver, likewise), `r|case` (read the case's
/// members from the database again, sent after any change is committed). Grants are never
/// carried in a note, only read back, so a late note cannot give back what was taken away.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Note {
    Gone(String, i64),
    Inactive(i64),
    Reload(String),
}

impl Note {
    fn encode(&self) -> String {
        match self {
            Note::Gone(case, p) => format!("g|{case}|{p}"),
            Note::Inactive(p) => format!("i|{p}"),
            Note::Reload(case) => format!("r|{case}"),
        }
    }

    fn decode(said: &str) -> Option<Note> {
        let parts: Vec<&str> = said.split('|').collect();
        Some(match parts.as_slice() {
            ["g", case, p] => Note::Gone(case.to_string(), p.parse().ok()?),
            ["i", p] => Note::Inactive(p.parse().ok()?),
            ["r", case] => Note::Reload(case.to_string()),
            _ => return None,
        })
    }
}

fn role_of(name: &str) -> CaseRole {
    if name == "lead" {
        CaseRole::Lead
    } else {
        CaseRole::Member
    }
}

/// Result of registering a case id.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    Created,
    AlreadyMember,
    /// Someone else's case (or one whose members have all gone): the caller must not learn that.
    Refused,
}

impl Access {
    /// Loads every membership into memory.
    pub async fn load(pool: AnyPool) -> Result<Self, sqlx::Error> {
        let cache = read_all(&pool).await?;
        Ok(Self {
            pool,
            cache: Arc::new(RwLock::new(cache)),
            changes: broadcast::channel(1024).0,
            relays: Arc::default(),
        })
    }

    /// From now on, tells the other relays sharing the database of every change.
    pub fn tell_relays(&self, tell: Tell) {
        let _ = self.relays.set(tell);
    }

    async fn tell(&self, note: Note) -> Result<(), sqlx::Error> {
        match self.relays.get() {
            Some(tell) => tell.send(ACCESS_CHANNEL, &note.encode()).await,
            None => Ok(()),
        }
    }

    /// What another relay told (see [`Access::tell_relays`]); `None`: something may have
    /// been missed, so everything is read again.
    pub fn heard(&self, said: Option<&str>) {
        let note = match said {
            Some(said) => match Note::decode(said) {
                Some(note) => note,
                None => return,
            },
            None => {
                let me = self.clone();
                tokio::spawn(async move {
                    match read_all(&me.pool).await {
                        Ok(cache) => {
                            *me.write() = cache;
                            me.changed(Change {
                                case_id: None,
                                professional_id: None,
                            });
                        }
                        Err(e) => tracing::error!(error = %e, "could not read memberships again"),
                    }
                });
                return;
            }
        };
        let change = match note {
            Note::Gone(case, p) => {
                if let Some(m) = self.write().cases.get_mut(&case) {
                    m.remove(&p);
                }
                Change {
                    case_id: Some(case),
                    professional_id: Some(p),
                }
            }
            Note::Inactive(p) => {
                self.write().inactive.insert(p);
                Change {
                    case_id: None,
                    professional_id: Some(p),
                }
            }
            Note::Reload(case) => {
                let me = self.clone();
                tokio::spawn(async move {
                    let rows: Result<Vec<(i64, String)>, _> = sqlx::query_as(
                        "SELECT professional_id, role FROM case_members WHERE case_id = $1",
                    )
                    .bind(&case)
                    .fetch_all(&me.pool)
                    .await;
                    match rows {
                        Ok(rows) => {
                            let members = rows.into_iter().map(|(p, r)| (p, role_of(&r))).collect();
                            me.write().cases.insert(case.clone(), members);
                            me.changed(Change {
                                case_id: Some(case),
                                professional_id: None,
                            });
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "could not read a case's members again")
                        }
                    }
                });
                return;
            }
        };
        self.changed(change);
    }
}

/// Every membership, from the database.
async fn read_all(pool: &AnyPool) -> Result<Cache, sqlx::Error> {
    let mut cache = Cache::default();
    for id in sqlx::query_scalar::<_, String>("SELECT id FROM cases")
        .fetch_all(pool)
        .await?
    {
        cache.cases.insert(id, HashMap::new());
    }
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT case_id, professional_id, role FROM case_members")
            .fetch_all(pool)
            .await?;
    for (case, prof, role) in rows {
        cache
            .cases
            .entry(case)
            .or_default()
            .insert(prof, role_of(&role));
    }
    cache.inactive = crate::accounts::inactive_ids(pool)
        .await?
        .into_iter()
        .collect();
    Ok(cache)
}

impl Access {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self, change: Change) {
        // No receivers just means no open policy streams.
        let _ = self.changes.send(change);
    }

    /// Whether this professional may sync this case right now.
    pub fn may_sync(&self, case_id: &str, professional_id: i64) -> bool {
        let cache = self.read();
        !cache.inactive.contains(&professional_id)
            && cache
                .cases
                .get(case_id)
                .is_some_and(|m| m.contains_key(&professional_id))
    }

    /// The professional's role on the case, if a member (active or not).
    pub fn role(&self, case_id: &str, professional_id: i64) -> Option<CaseRole> {
        self.read()
            .cases
            .get(case_id)?
            .get(&professional_id)
            .copied()
    }

    pub fn is_registered(&self, case_id: &str) -> bool {
        self.read().cases.contains_key(case_id)
    }

    /// The case's members and their roles.
    pub fn members(&self, case_id: &str) -> Vec<(i64, CaseRole)> {
        let mut v: Vec<_> = self
            .read()
            .cases
            .get(case_id)
            .map(|m| m.iter().map(|(p, r)| (*p, *r)).collect())
            .unwrap_or_default();
        v.sort_by_key(|(p, _)| *p);
        v
    }

    /// The cases a professional is a member of.
    pub fn cases_of(&self, professional_id: i64) -> Vec<(String, CaseRole)> {
        let mut v: Vec<_> = self
            .read()
            .cases
            .iter()
            .filter_map(|(c, m)| m.get(&professional_id).map(|r| (c.clone(), *r)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Registers a new case with `professional_id` as its lead.
    pub async fn register(
        &self,
        case_id: &str,
        professional_id: i64,
    ) -> Result<Registered, sqlx::Error> {
        if let Some(members) = self.read().cases.get(case_id) {
            return Ok(if members.contains_key(&professional_id) {
                Registered::AlreadyMember
            } else {
                Registered::Refused
            });
        }
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO cases (id, registered_by, registered_at) VALUES ($1, $2, $3)
             ON CONFLICT(id) DO NOTHING",
        )
        .bind(case_id)
        .bind(professional_id)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Registered by someone else a moment ago.
            return Ok(Registered::Refused);
        }
        sqlx::query(
            "INSERT INTO case_members (case_id, professional_id, role, added_by, added_at)
             VALUES ($1, $2, 'lead', $3, $4)",
        )
        .bind(case_id)
        .bind(professional_id)
        .bind(professional_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.write()
            .cases
            .entry(case_id.to_string())
            .or_default()
            .insert(professional_id, CaseRole::Lead);
        self.changed(Change {
            case_id: Some(case_id.into()),
            professional_id: Some(professional_id),
        });
        // Committed: the others read it back (a failure to tell them is logged; they learn
        // it at their next full read, and refuse meanwhile).
        let _ = self.tell(Note::Reload(case_id.into())).await;
        Ok(Registered::Created)
    }

    /// Adds a member; false if they already were one.
    pub async fn add(
        &self,
        case_id: &str,
        professional_id: i64,
        added_by: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let added = sqlx::query(
            "INSERT INTO case_members (case_id, professional_id, role, added_by, added_at)
             SELECT $1, $2, 'member', $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM disposals WHERE case_id = $1)
             ON CONFLICT(case_id, professional_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(professional_id)
        .bind(added_by)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        // Back in the team: their devices keep (or fetch again) the case, and a later
        // departure starts a fresh count of removed copies.
        for table in ["departures", "device_copies_removed"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE case_id = $1 AND professional_id = $2"
            ))
            .bind(case_id)
            .bind(professional_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if added {
            self.write()
                .cases
                .entry(case_id.to_string())
                .or_default()
                .insert(professional_id, CaseRole::Member);
            self.changed(Change {
                case_id: Some(case_id.into()),
                professional_id: Some(professional_id),
            });
            let _ = self.tell(Note::Reload(case_id.into())).await;
        }
        Ok(added)
    }

    /// When `professional_id` left the case's team (Unix seconds), if they have and are not
    /// back (see [`crate::departure`]).
    pub async fn left_at(
        &self,
        case_id: &str,
        professional_id: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT left_at FROM departures WHERE case_id = $1 AND professional_id = $2",
        )
        .bind(case_id)
        .bind(professional_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Removes a member; false if they were not one.
    pub async fn remove(&self, case_id: &str, professional_id: i64) -> Result<bool, sqlx::Error> {
        Ok(!self
            .remove_all(case_id, &[professional_id])
            .await?
            .is_empty())
    }

    /// Removes several members at once, atomically: one transaction in SQL, and one write to
    /// memory made *before* it commits, so no frame of any of them is served once the change
    /// is committed, and nobody can see some of them gone and others not. Returns those who
    /// were members.
    pub async fn remove_all(
        &self,
        case_id: &str,
        professionals: &[i64],
    ) -> Result<Vec<i64>, sqlx::Error> {
        if professionals.is_empty() {
            return Ok(Vec::new());
        }
        // Deny first: memory may refuse more than SQL for a moment, never grant more.
        let held: Vec<(i64, CaseRole)> = {
            let mut cache = self.write();
            match cache.cases.get_mut(case_id) {
                Some(m) => professionals
                    .iter()
                    .filter_map(|p| m.remove(p).map(|r| (*p, r)))
                    .collect(),
                None => Vec::new(),
            }
        };
        for p in professionals {
            self.changed(Change {
                case_id: Some(case_id.into()),
                professional_id: Some(*p),
            });
        }
        let removed = async {
            // The other relays refuse first too; if they cannot be told, nothing is removed.
            for p in professionals {
                self.tell(Note::Gone(case_id.into(), *p)).await?;
            }
            let mut tx = self.pool.begin().await?;
            let mut removed = Vec::new();
            for p in professionals {
                let n = sqlx::query(
                    "DELETE FROM case_members WHERE case_id = $1 AND professional_id = $2",
                )
                .bind(case_id)
                .bind(p)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 {
                    // Their devices remove their copy at next contact (crate::departure).
                    sqlx::query(
                        "INSERT INTO departures (case_id, professional_id, left_at) VALUES ($1, $2, $3)
                         ON CONFLICT(case_id, professional_id) DO UPDATE SET left_at = excluded.left_at",
                    )
                    .bind(case_id)
                    .bind(p)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                    removed.push(*p);
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(removed)
        }
        .await;
        if removed.is_err() {
            // Nothing changed in SQL: give back what memory took, so the two agree again.
            if let Some(m) = self.write().cases.get_mut(case_id) {
                for (p, role) in &held {
                    m.insert(*p, *role);
                }
            }
            for (p, _) in &held {
                self.changed(Change {
                    case_id: Some(case_id.into()),
                    professional_id: Some(*p),
                });
            }
        }
        // Committed or not, the others read back what the database holds.
        let _ = self.tell(Note::Reload(case_id.into())).await;
        removed
    }

    /// A leaver: no access to anything from now on (memberships are kept for the record).
    /// Called before the account is marked inactive in SQL, for the same reason as
    /// [`Access::remove_all`]: memory refuses first.
    /// If the other relays sharing the database cannot be told, nothing changes and the
    /// error is returned.
    pub async fn deactivated(&self, professional_id: i64) -> Result<(), sqlx::Error> {
        let was_active = self.write().inactive.insert(professional_id);
        self.changed(Change {
            case_id: None,
            professional_id: Some(professional_id),
        });
        if let Err(e) = self.tell(Note::Inactive(professional_id)).await {
            if was_active {
                self.write().inactive.remove(&professional_id);
                self.changed(Change {
                    case_id: None,
                    professional_id: Some(professional_id),
                });
            }
            return Err(e);
        }
        Ok(())
    }

    /// samod's share policy over these memberships.
    pub fn policy(&self) -> CasePolicy {
        CasePolicy(self.clone())
    }
}

/// samod's [`samod::SharePolicy`]: read-write for members, nothing for anyone else, never
/// announced. The stream yields the current decision, then a new one after every membership
/// change that concerns this case and peer; samod drops repeats and applies changes to open
/// connections.
#[derive(Clone)]
pub struct CasePolicy(Access);

impl CasePolicy {
    fn decide(&self, case_id: &str, professional_id: Option<i64>) -> samod::ShareConfig {
        match professional_id {
            Some(p) if self.0.may_sync(case_id, p) => {
                samod::ShareConfig::read_write().with_announce(false)
            }
            _ => samod::ShareConfig::none(),
        }
    }
}

impl samod::SharePolicy for CasePolicy {
    fn share(
        &self,
        doc_id: samod::DocumentId,
        peer_id: samod::PeerId,
    ) -> impl Stream<Item = samod::ShareConfig> + Send + 'static {
        let case_id = doc_id.to_string();
        let professional = professional_of_peer(peer_id.as_str());
        let policy = self.clone();
        // Subscribe before the first decision so no change can fall between the two.
        let changes = self.0.changes.subscribe();
        futures::stream::unfold((true, changes), move |(first, mut changes)| {
            let policy = policy.clone();
            let case_id = case_id.clone();
            async move {
                if !first {
                    let Some(p) = professional else {
                        return None; // an unknown peer stays denied for good
                    };
                    loop {
                        match changes.recv().await {
                            Ok(change) if change.concerns(&case_id, p) => break,
                            Ok(_) => continue,
                            // Missed some changes: decide again to be safe.
                            Err(broadcast::error::RecvError::Lagged(_)) => break,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                }
                Some((policy.decide(&case_id, professional), (false, changes)))
            }
        })
    }
}
