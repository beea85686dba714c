//! The audit trail: who did what to which case, and whether it was allowed.
//!
//! Rows hold ids only (professional, agency, case) and a salted hash of the client's address,
//! never names, emails, case content or passwords: an audit export can then be handed to an
//! information governance team without becoming a copy of the records it describes.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use std::net::IpAddr;

/// One thing that happened. Build with [`Event::new`] and the `actor`/`case`/... setters.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub kind: String,
    pub outcome: &'static str,
    pub actor: Option<i64>,
    pub case_id: Option<String>,
    pub subject_professional: Option<i64>,
    pub subject_agency: Option<i64>,
    pub client: Option<IpAddr>,
    /// When it happened on the device, if the device reports it later (Unix milliseconds).
    pub occurred_at: Option<i64>,
}

impl Event {
    pub fn new(kind: impl Into<String>, outcome: &'static str) -> Self {
        Self {
            kind: kind.into(),
            outcome,
            ..Self::default()
        }
    }
    pub fn actor(mut self, id: i64) -> Self {
        self.actor = Some(id);
        self
    }
    pub fn case(mut self, id: impl ToString) -> Self {
        self.case_id = Some(id.to_string());
        self
    }
    pub fn professional(mut self, id: i64) -> Self {
        self.subject_professional = Some(id);
        self
    }
    pub fn agency(mut self, id: i64) -> Self {
        self.subject_agency = Some(id);
        self
    }
    pub fn client(mut self, addr: Option<IpAddr>) -> Self {
        self.client = addr;
        self
    }
    pub fn occurred_at(mut self, unix_ms: i64) -> Self {
        self.occurred_at = Some(unix_ms);
        self
    }
}

/// An audit row as the API returns it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub actor_professional_id: Option<i64>,
    pub case_id: Option<String>,
    pub subject_professional_id: Option<i64>,
    pub subject_agency_id: Option<i64>,
    pub outcome: String,
    pub client_hash: Option<String>,
    pub occurred_at: Option<i64>,
}

/// Writes audit rows to the relay's database.
#[derive(Clone)]
pub struct Audit {
    pool: AnyPool,
    /// Random per relay (kept in `settings`), so address hashes cannot be reversed by hashing
    /// every IPv4 address.
    salt: String,
}

impl Audit {
    pub async fn open(pool: AnyPool) -> Result<Self, sqlx::Error> {
        let salt = match sqlx::query_scalar::<_, String>(
            "SELECT value FROM settings WHERE name = 'client_hash_salt'",
        )
        .fetch_optional(&pool)
        .await?
        {
            Some(s) => s,
            None => {
                let fresh = hex::encode(crate::accounts::random_bytes());
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ('client_hash_salt', $1)
                     ON CONFLICT(name) DO NOTHING",
                )
                .bind(&fresh)
                .execute(&pool)
                .await?;
                sqlx::query_scalar("SELECT value FROM settings WHERE name = 'client_hash_salt'")
                    .fetch_one(&pool)
                    .await?
            }
        };
        Ok(Self { pool, salt })
    }

    fn client_hash(&self, addr: IpAddr) -> String {
        self.pseudonym(&addr.to_string())
    }

    /// A salted hash of `text` (an address, an email typed at sign-in), so that rows can be
    /// linked by it without the database holding it.
    pub fn pseudonym(&self, text: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update(text.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// Records an event. An audit row that cannot be written is logged (ids only) rather than
    /// failing the request: the database being down already stops the relay serving.
    pub async fn record(&self, event: Event) {
        if let Err(e) = self.insert(&event, "").await {
            tracing::error!(event = %event.kind, outcome = event.outcome, actor = ?event.actor,
                case = ?event.case_id, error = %e, "audit row could not be written");
        }
    }

    /// Records an event a device reports, unless the same one is recorded already (a unique
    /// index says what "the same" is); a failure is returned, so the device keeps it to send
    /// again.
    pub async fn record_once(&self, event: Event) -> Result<(), sqlx::Error> {
        self.insert(&event, "ON CONFLICT DO NOTHING").await
    }

    /// `on_conflict`: what to do when the row breaks a unique index, or "" (an error).
    async fn insert(&self, event: &Event, on_conflict: &str) -> Result<(), sqlx::Error> {
        let client = event.client.map(|a| self.client_hash(a));
        sqlx::query(&format!(
            "INSERT INTO audit (at, event, actor_professional_id, case_id, subject_professional_id,
                                subject_agency_id, outcome, client_hash, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) {on_conflict}"
        ))
        .bind(crate::accounts::now())
        .bind(&event.kind)
        .bind(event.actor)
        .bind(&event.case_id)
        .bind(event.subject_professional)
        .bind(event.subject_agency)
        .bind(event.outcome)
        .bind(client)
        .bind(event.occurred_at)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Records without waiting (from places that cannot await, e.g. a frame filter).
    pub fn record_later(&self, event: Event) {
        let audit = self.clone();
        tokio::spawn(async move { audit.record(event).await });
    }

    /// Every row about a case, oldest first.
    pub async fn for_case(&self, case_id: &str) -> Result<Vec<Row>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM audit WHERE case_id = $1 ORDER BY id")
            .bind(case_id)
            .fetch_all(&self.pool)
            .await
    }
}

/// Rows as CSV. Every column is an id, a time, a fixed word or a hex hash, so nothing needs
/// quoting; `at` is also given as RFC 3339 for people opening it in a spreadsheet.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "id,at,at_utc,event,actor_professional_id,case_id,subject_professional_id,subject_agency_id,outcome,client_hash,occurred_at_utc\r\n",
    );
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.id,
            r.at,
            crate::accounts::rfc3339(r.at),
            r.event,
            opt(r.actor_professional_id),
            r.case_id.as_deref().unwrap_or_default(),
            opt(r.subject_professional_id),
            opt(r.subject_agency_id),
            r.outcome,
            r.client_hash.as_deref().unwrap_or_default(),
            r.occurred_at
                .map(|ms| crate::accounts::rfc3339(ms.div_euclid(1000)))
                .unwrap_or_default(),
        ));
    }
    out
}
