//! Several relays serving one PostgreSQL database at once (`--relay-url` set on each).
//!
//! The cases are spread over [`crate::repos::SHARDS`] shards, and each shard is worked on by
//! one relay at a time: the one holding its PostgreSQL advisory lock. A relay takes a shard's
//! lock, on a database session of its own, when it first needs one of the shard's cases and
//! nobody holds it, and gives it back when the shard unloads (nobody had its cases open for
//! the quiet period). The `shard_owners` table says which relay holds each, so:
//! - a browser connects to any relay. Frames about a case whose shard another relay holds are
//!   forwarded, in the same automerge-repo protocol, to that relay's `/internal/sync`, which
//!   serves them as if the browser had connected there (membership, checks, journal, answers
//!   only once on disk; see [`crate::sync`]). People connected to different relays co-edit
//!   live, and a case's writes and compaction happen in one place only;
//! - a relay that dies loses its database session and with it its locks: at once for a
//!   killed process, within ~20 s for a machine that vanished (TCP keepalives). The next
//!   request for one of its shards, at any relay, takes the shard over from what is stored.
//!   Browsers reconnect with jittered backoff and resend what was never acknowledged;
//! - memberships, leavers and ended sessions reach the other relays' in-memory copies
//!   through PostgreSQL's `NOTIFY` ([`Tell`]), within milliseconds;
//! - relays prove themselves to each other with a secret kept in the database.
//!
//! Without `--relay-url` the relays sharing a database run one at a time instead
//! ([`crate::database::become_active`]).

use crate::database::{self, OpenError, PING_EVERY, PING_TIMEOUT};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Connection, Executor};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// First advisory lock key of the shards' (one per shard after it).
const SHARD_LOCKS: i64 = 7_100_100;
/// The header relays send each other the cluster's secret in.
pub const SECRET_HEADER: &str = "x-tac-relay";
/// The header a forwarding relay names the browser's address in (for the audit).
pub const CLIENT_HEADER: &str = "x-tac-client";
/// `NOTIFY` channels: membership changes, and ended sessions.
pub const ACCESS_CHANNEL: &str = "tac_access";
pub const SESSIONS_CHANNEL: &str = "tac_sessions";
/// A relay's word to itself, to find out whether its listening connection still works.
const HEARTBEAT_CHANNEL: &str = "tac_heartbeat";
/// How long the listening connection may stay quiet before that check.
const HEARTBEAT: Duration = Duration::from_secs(30);

enum Command {
    Claim(usize, oneshot::Sender<bool>),
    Release(usize, oneshot::Sender<()>),
}

/// This relay's place among the relays sharing its database.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the other relays reach this one.
    me: String,
    /// Which relay process said something ([`Tell`]), so that it skips its own words.
    speaker: String,
    secret: String,
    pool: AnyPool,
    commands: mpsc::Sender<Command>,
    /// Shards whose lock this relay holds.
    held: Mutex<HashSet<usize>>,
    http: reqwest::Client,
}

/// Where the shard of a case is worked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Here,
    /// At the relay with this address.
    There(String),
    /// Being taken over (or this relay is stopping): try again shortly.
    Unsettled,
}

impl Cluster {
    /// Joins the relays serving the database at `url`: a database session of its own holds
    /// this relay's shard locks, checked every few seconds; if it is lost the process stops
    /// (another relay may take the shards over), for the service manager to start it again.
    pub async fn join(url: &str, me: String, pool: AnyPool) -> Result<Cluster, OpenError> {
        let mut conn = database::connect_watched(url).await?;
        // Relays serving together hold the serving lock shared; one serving alone (started
        // without --relay-url) holds it exclusively. Each waits while the other kind serves,
        // so a relay left without --relay-url cannot write the cases beside this one.
        let mut waiting = false;
        loop {
            let together: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock_shared($1)")
                .bind(database::Lock::ActiveRelay as i64)
                .fetch_one(&mut conn)
                .await?;
            if together {
                break;
            }
            if !waiting {
                tracing::warn!("a relay started without --relay-url is serving this database; waiting for it to stop");
                waiting = true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if waiting {
            // As for a standby: the lone relay may run on for one check after its lock went.
            tokio::time::sleep(PING_EVERY + PING_TIMEOUT + Duration::from_secs(1)).await;
        }
        let secret = secret(&pool).await?;
        let (commands, mut rx) = mpsc::channel::<Command>(64);
        tokio::spawn(async move {
            // The locks this session holds: claiming twice must not stack a lock, which
            // one release would then not free.
            let mut locked = HashSet::new();
            let mut tick = tokio::time::interval(PING_EVERY);
            // A query on this session that does not answer in time means the session may be
            // gone (and its locks someone else's): stop, as for a failed check.
            let lost = || -> ! {
                tracing::error!(
                    "lost the database session that holds this relay's cases; stopping"
                );
                std::process::exit(3);
            };
            loop {
                tokio::select! {
                    command = rx.recv() => match command {
                        Some(Command::Claim(shard, reply)) => {
                            if !locked.contains(&shard) {
                                let got = tokio::time::timeout(
                                    PING_TIMEOUT,
                                    sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                                        .bind(SHARD_LOCKS + shard as i64)
                                        .fetch_one(&mut conn),
                                )
                                .await;
                                match got {
                                    Ok(Ok(true)) => {
                                        locked.insert(shard);
                                    }
                                    Ok(Ok(false)) => {}
                                    _ => lost(),
                                }
                            }
                            let _ = reply.send(locked.contains(&shard));
                        }
                        Some(Command::Release(shard, reply)) => {
                            if locked.remove(&shard) {
                                let done = tokio::time::timeout(
                                    PING_TIMEOUT,
                                    sqlx::query("SELECT pg_advisory_unlock($1)")
                                        .bind(SHARD_LOCKS + shard as i64)
                                        .execute(&mut conn),
                                )
                                .await;
                                if !matches!(done, Ok(Ok(_))) {
                                    lost();
                                }
                            }
                            let _ = reply.send(());
                        }
                        None => {
                            let _ = conn.close().await;
                            return;
                        }
                    },
                    _ = tick.tick() => {
                        let alive = tokio::time::timeout(PING_TIMEOUT, conn.ping()).await;
                        if !matches!(alive, Ok(Ok(()))) {
                            lost();
                        }
                    }
                }
            }
        });
        tracing::info!(relay = %me, "serving alongside the other relays on this database");
        Ok(Cluster {
            inner: Arc::new(Inner {
                me,
                // Per process: two relays mistakenly given one address still hear each other.
                speaker: hex::encode(&crate::accounts::random_bytes()[..8]),
                secret,
                pool,
                commands,
                held: Mutex::default(),
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap_or_default(),
            }),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<usize>> {
        self.inner.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This relay's own address.
    pub fn me(&self) -> &str {
        &self.inner.me
    }

    /// Whether this relay holds the shard.
    pub fn holds(&self, shard: usize) -> bool {
        self.held().contains(&shard)
    }

    /// Takes the shard if no relay holds it. The caller must load it at once (see
    /// [`crate::repos`]), and call [`Cluster::release`] when it unloads; a shard claimed but
    /// not loaded (its caller cancelled) is given back by the next unloading pass.
    pub async fn claim(&self, shard: usize) -> bool {
        if self.holds(shard) {
            return true;
        }
        // In a task of its own, run to the end whatever happens to the caller: a lock taken
        // is either noted as held or given back.
        let me = self.clone();
        tokio::spawn(async move { me.take(shard).await })
            .await
            .unwrap_or(false)
    }

    async fn take(&self, shard: usize) -> bool {
        let (reply, got) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Claim(shard, reply))
            .await
            .is_err()
            || !got.await.unwrap_or(false)
        {
            return false;
        }
        // A relay that gives a shard back clears its row first: a row naming another relay
        // means that relay lost its database session without saying so. It may still be
        // running until its next check finds that out and stops it: wait that out, so that
        // two never work on one case.
        match self.owner(shard).await {
            Ok(Some(other)) if other != self.inner.me => {
                tracing::info!(shard, "taking over a shard from a relay that has gone");
                tokio::time::sleep(PING_EVERY + PING_TIMEOUT + Duration::from_secs(1)).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(shard, error = %e, "could not read who held a shard; giving it back");
                self.unlock(shard).await;
                return false;
            }
        }
        let noted = sqlx::query(
            "INSERT INTO shard_owners (shard, relay_url, claimed_at) VALUES ($1, $2, $3)
             ON CONFLICT (shard) DO UPDATE SET relay_url = excluded.relay_url,
                                              claimed_at = excluded.claimed_at",
        )
        .bind(shard as i64)
        .bind(&self.inner.me)
        .bind(crate::accounts::now())
        .execute(&self.inner.pool)
        .await;
        if noted.is_err() {
            self.unlock(shard).await;
            return false;
        }
        self.held().insert(shard);
        tracing::debug!(shard, "shard claimed");
        true
    }

    /// Gives a shard back (it has unloaded, its writes finished).
    pub async fn release(&self, shard: usize) {
        if !self.holds(shard) {
            return;
        }
        // Run to the end whatever happens to the caller, as for a claim.
        let me = self.clone();
        let _ = tokio::spawn(async move {
            let _ = sqlx::query("DELETE FROM shard_owners WHERE shard = $1 AND relay_url = $2")
                .bind(shard as i64)
                .bind(&me.inner.me)
                .execute(&me.inner.pool)
                .await;
            me.held().remove(&shard);
            me.unlock(shard).await;
        })
        .await;
    }

    async fn unlock(&self, shard: usize) {
        let (reply, done) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Release(shard, reply))
            .await
            .is_ok()
        {
            let _ = done.await;
        }
    }

    /// The relay recorded as holding the shard.
    pub async fn owner(&self, shard: usize) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT relay_url FROM shard_owners WHERE shard = $1")
            .bind(shard as i64)
            .fetch_optional(&self.inner.pool)
            .await
    }

    /// Where to work on a shard this relay does not hold and could not take.
    pub async fn elsewhere(&self, shard: usize) -> Place {
        match self.owner(shard).await {
            Ok(Some(url)) if url != self.inner.me => Place::There(url),
            _ => Place::Unsettled,
        }
    }

    /// Whether a request comes from another relay of this service.
    pub fn vouches(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        // Compared as digests, so the time taken says nothing about the secret.
        Sha256::digest(given) == Sha256::digest(self.inner.secret.as_bytes())
    }

    /// The browser's address, as a relay that forwards its request says (see
    /// [`Cluster::vouches`]).
    pub fn client(&self, headers: &HeaderMap) -> Option<std::net::IpAddr> {
        headers.get(CLIENT_HEADER)?.to_str().ok()?.parse().ok()
    }

    /// The headers that make a request to another relay its own: the secret, and the
    /// browser's address.
    pub fn headers(&self, client: Option<std::net::IpAddr>) -> Vec<(&'static str, String)> {
        let mut h = vec![(SECRET_HEADER, self.inner.secret.clone())];
        if let Some(ip) = client {
            h.push((CLIENT_HEADER, ip.to_string()));
        }
        h
    }

    /// Sends `body` to `path` at the relay `at`, as this relay; its status and body.
    pub async fn post(
        &self,
        at: &str,
        path: &str,
        cookie: &str,
        client: Option<std::net::IpAddr>,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), reqwest::Error> {
        let mut request = self
            .inner
            .http
            .post(format!("{at}{path}"))
            .header(axum::http::header::COOKIE, cookie)
            .body(body);
        for (name, value) in self.headers(client) {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }

    /// Tells the other relays that a case was destroyed: their stores never write it again.
    pub async fn tell_destroyed(&self, case: &str) {
        let _ = self.tell().send(ACCESS_CHANNEL, &format!("x|{case}")).await;
    }

    /// Tells the other relays about a change to what they keep in memory.
    pub fn tell(&self) -> Tell {
        Tell {
            pool: self.inner.pool.clone(),
            me: self.inner.speaker.clone(),
        }
    }

    /// Passes what other relays tell (through [`Tell`]) to `heard`, with the channel's name.
    /// If the listening session is lost, `heard` gets `None` once it is back: something may
    /// have been missed, and whatever was kept from it must be read again.
    pub async fn listen(
        &self,
        url: &str,
        heard: impl Fn(&str, Option<&str>) + Send + 'static,
    ) -> Result<(), sqlx::Error> {
        let connect = |url: String| async move {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener
                .listen_all([ACCESS_CHANNEL, SESSIONS_CHANNEL, HEARTBEAT_CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = connect(url.to_string()).await?;
        // Anything said before listening began (memberships read at start) is read again.
        heard(ACCESS_CHANNEL, None);
        heard(SESSIONS_CHANNEL, None);
        let me = format!("{}|", self.inner.speaker);
        let tell = self.tell();
        let url = url.to_string();
        tokio::spawn(async move {
            // A connection that only listens can be cut (a firewall's idle timeout) with
            // neither end noticing: after a quiet spell this relay says something to itself,
            // and if even that does not come back, listens afresh and reads everything again.
            let mut quiet = 0u32;
            loop {
                match tokio::time::timeout(HEARTBEAT, listener.try_recv()).await {
                    Ok(Ok(Some(note))) => {
                        quiet = 0;
                        if note.channel() == HEARTBEAT_CHANNEL
                            || note.payload().starts_with(me.as_str())
                        {
                            continue;
                        }
                        let said = note.payload().split_once('|').map(|(_, s)| s);
                        heard(note.channel(), said);
                    }
                    // Reconnected by sqlx: whatever was said meanwhile is lost.
                    Ok(Ok(None)) => {
                        heard(ACCESS_CHANNEL, None);
                        heard(SESSIONS_CHANNEL, None);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "listening to the other relays failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(_) if quiet == 0 => {
                        quiet = 1;
                        let _ = tell.send(HEARTBEAT_CHANNEL, "").await;
                    }
                    Err(_) => {
                        tracing::warn!("no word from the database on the listening connection; listening afresh");
                        match connect(url.clone()).await {
                            Ok(fresh) => {
                                listener = fresh;
                                quiet = 0;
                                heard(ACCESS_CHANNEL, None);
                                heard(SESSIONS_CHANNEL, None);
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "could not listen afresh; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

/// The case a note about a destroyed case names (`x|<case>`, see [`Cluster::tell_destroyed`]).
pub fn destroyed_case(said: &str) -> Option<&str> {
    said.strip_prefix("x|")
}

/// Says something to the other relays sharing the database (PostgreSQL `NOTIFY`).
#[derive(Clone)]
pub struct Tell {
    pool: AnyPool,
    me: String,
}

impl Tell {
    /// Sends `said` on `channel`; logged (by kind only) if it cannot be sent.
    pub async fn send(&self, channel: &str, said: &str) -> Result<(), sqlx::Error> {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(format!("{}|{said}", self.me))
            .execute(&self.pool)
            .await;
        if let Err(e) = &sent {
            tracing::error!(channel, error = %e, "could not tell the other relays of a change");
        }
        sent.map(|_| ())
    }
}

/// The secret relays prove themselves to each other with: made once, kept in the database.
async fn secret(pool: &AnyPool) -> Result<String, sqlx::Error> {
    let fresh = hex::encode(crate::accounts::random_bytes());
    let mut conn = pool.acquire().await?;
    conn.execute(
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('relay_secret', $1)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&fresh),
    )
    .await?;
    sqlx::query_scalar("SELECT value FROM settings WHERE name = 'relay_secret'")
        .fetch_one(&mut *conn)
        .await
}
