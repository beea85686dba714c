//! The relay's samod repos: the cases are spread over a fixed number of them by case id, all
//! with the relay's one peer id and its one store.
//!
//! Why more than one: after every event (each frame in or out) samod 0.16's hub walks every
//! connection × every document it has loaded (`State::ensure_connections`), on one core, and
//! never unloads a document. With a single repo that cost grows with everyone connected × every
//! case opened since the relay started: in the latency bench it was the largest single cost and
//! the relay fell behind at 30 cases × 3 people. Sharded, each repo sees only the connections
//! that opened one of its cases, and its own share of the cases, and the repos use every core.
//! [`crate::sync`] routes each client's frames to the repo of the case they are about.
//!
//! Memory: since samod never unloads a case, a shard that no connection has used for a quiet
//! period (`--unload-after-secs`) is stopped (its writes finish first) and its memory given
//! back; it starts again, from the store, when a case in it is next opened. Joins are answered
//! by a lobby repo that holds no case, so an idle browser keeps no shard loaded.
//!
//! Several relays on one PostgreSQL database ([`crate::cluster`]): a relay loads a shard only
//! while it holds the shard's claim, taken when it loads and given back when it unloads; a
//! case in a shard another relay holds is read from the store here ([`Repos::copy`]) and
//! synced there.
//!
//! Each case shard runs on a small runtime of its own, shut down when it unloads: a stopped
//! samod 0.16 repo is never freed otherwise (its tasks hold it and wait on channels it holds
//! itself), and the memory benchmark saw every unload and reload keep a whole copy.

use crate::access::CasePolicy;
use crate::cluster::{Cluster, Place};
use crate::storage::{SqlStorage, StorageError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many repos. More makes each hub's scan shorter; each costs a few idle tasks.
pub const SHARDS: usize = 16;

/// One repo of the relay, with the acceptor that hands it connections.
struct Shard {
    repo: samod::Repo,
    acceptor: samod::AcceptorHandle,
    /// The runtime its tasks run on, if its own (case shards; the lobby uses the relay's).
    runtime: Option<tokio::runtime::Runtime>,
}

/// A shard's repo when loaded, and who uses it.
struct Slot {
    live: tokio::sync::Mutex<Option<Shard>>,
    use_: Mutex<Use>,
    /// Counts unloads, so that whoever holds one of the shard's documents (the consent
    /// watcher) lets go when it is unloaded: a handle would keep the document in memory, and
    /// its change stream never ends.
    unloads: tokio::sync::watch::Sender<u64>,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            live: Default::default(),
            use_: Default::default(),
            unloads: tokio::sync::watch::Sender::new(0),
        }
    }
}

#[derive(Default)]
struct Use {
    /// Client connections into this shard now.
    connections: usize,
    /// When a connection last ended, or the relay last read a case here.
    last: Option<Instant>,
}

struct Inner {
    store: SqlStorage,
    policy: CasePolicy,
    peer_id: samod::PeerId,
    lobby: Shard,
    shards: Vec<Slot>,
    /// Unused this long, a shard is unloaded.
    quiet: Duration,
    /// Set by [`Repos::stop`]: no shard loads again.
    stopping: std::sync::atomic::AtomicBool,
    /// The other relays serving the same database, if any.
    cluster: Option<Cluster>,
}

/// The relay's copy of a case.
pub enum Copy {
    /// Loaded here, as people sync it.
    Live(samod::DocHandle),
    /// As stored: another relay works on the case now.
    Stored(Box<automerge::Automerge>),
}

impl Copy {
    /// Reads the copy with `read`; `None` if a live copy could not be read (its shard
    /// stopping).
    pub async fn read<T: Send + 'static>(
        self,
        read: impl FnOnce(&automerge::Automerge) -> T + Send + 'static,
    ) -> Option<T> {
        match self {
            Copy::Live(handle) => handle.with_document_async(move |doc| read(doc)).await.ok(),
            Copy::Stored(doc) => Some(read(&doc)),
        }
    }
}

#[derive(Clone)]
pub struct Repos {
    inner: Arc<Inner>,
}

/// A client connection's hold on a shard: while any is held the shard stays loaded.
pub struct ShardUse {
    repos: Repos,
    shard: usize,
}

impl Drop for ShardUse {
    fn drop(&mut self) {
        let mut u = self.repos.lock_use(self.shard);
        u.connections = u.connections.saturating_sub(1);
        u.last = Some(Instant::now());
    }
}

impl Shard {
    async fn load(
        store: &SqlStorage,
        policy: &CasePolicy,
        peer_id: &samod::PeerId,
        own_runtime: bool,
    ) -> Result<Shard, StorageError> {
        let runtime = if own_runtime {
            Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("tac-shard")
                    .enable_all()
                    .build()
                    .map_err(|_| StorageError::Stopped)?,
            )
        } else {
            None
        };
        let handle = match &runtime {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        };
        let builder = samod::Repo::builder(handle)
            .with_storage(store.clone())
            // Members get their cases read-write; everyone else gets doc-unavailable. Never
            // push documents at a client that did not ask: a browser syncs only the cases it
            // opens.
            .with_share_policy(policy.clone())
            .with_peer_id(peer_id.clone());
        let repo = builder.load().await;
        let acceptor = repo
            .make_acceptor(samod::Url::parse("ws://relay/sync").expect("static URL"))
            .map_err(|_| StorageError::Stopped)?;
        Ok(Shard {
            repo,
            acceptor,
            runtime,
        })
    }

    /// Stops the repo (its storage writes finish first), then its runtime, which frees it.
    async fn stop(self) {
        self.repo.stop().await;
        // The repo holds its acceptor and the acceptor holds the repo: without closing it,
        // the pair (every document the shard loaded) outlives everything else here.
        self.acceptor.close();
        drop(self.acceptor);
        drop(self.repo);
        if let Some(rt) = self.runtime {
            // Drops every task still on it (they wait forever otherwise), and with them the
            // repo and its documents; on a blocking thread, since this runs inside the
            // relay's runtime, and waited for, so the memory is free when this returns.
            let _ =
                tokio::task::spawn_blocking(move || rt.shutdown_timeout(Duration::from_secs(5)))
                    .await;
        }
    }
}

impl Repos {
    /// Loads the lobby; shards load when first used.
    pub async fn open(
        store: SqlStorage,
        policy: CasePolicy,
        quiet: Duration,
        cluster: Option<Cluster>,
    ) -> Result<Repos, StorageError> {
        let peer_id = relay_peer_id(store.pool()).await?;
        one_storage_id(store.pool()).await?;
        let lobby = Shard::load(&store, &policy, &peer_id, false).await?;
        let repos = Repos {
            inner: Arc::new(Inner {
                store,
                policy,
                peer_id,
                lobby,
                shards: (0..SHARDS).map(|_| Slot::default()).collect(),
                quiet,
                stopping: Default::default(),
                cluster,
            }),
        };
        // Unloads idle shards; ends when the relay is dropped.
        let weak = Arc::downgrade(&repos.inner);
        tokio::spawn(async move {
            let tick = (quiet / 4).clamp(Duration::from_millis(200), Duration::from_secs(30));
            loop {
                tokio::time::sleep(tick).await;
                let Some(inner) = weak.upgrade() else { return };
                Repos { inner }.unload_idle().await;
            }
        });
        Ok(repos)
    }

    fn lock_use(&self, shard: usize) -> std::sync::MutexGuard<'_, Use> {
        // Counters only: a panic cannot leave them inconsistent.
        self.inner.shards[shard]
            .use_
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The shard a case lives in: FNV-1a of its id, so it is the same after a restart.
    pub fn shard_of(&self, case_id: &str) -> usize {
        let hash = case_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        (hash % SHARDS as u64) as usize
    }

    /// Runs `f` on a shard's repo, loading it first if it is not loaded.
    async fn with_live<T>(
        &self,
        shard: usize,
        f: impl FnOnce(&Shard) -> T,
    ) -> Result<T, samod::Stopped> {
        let mut live = self.inner.shards[shard].live.lock().await;
        if self
            .inner
            .stopping
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(samod::Stopped);
        }
        if live.is_none() {
            let inner = &self.inner;
            // With other relays: only the one holding the shard's claim may load it.
            if let Some(cluster) = &inner.cluster {
                if !cluster.claim(shard).await {
                    return Err(samod::Stopped);
                }
            }
            let loaded = match Shard::load(&inner.store, &inner.policy, &inner.peer_id, true).await
            {
                Ok(loaded) => loaded,
                Err(_) => {
                    if let Some(cluster) = &inner.cluster {
                        cluster.release(shard).await;
                    }
                    return Err(samod::Stopped);
                }
            };
            tracing::debug!(shard, "shard loaded");
            *live = Some(loaded);
        }
        // Noted under the shard's lock: an unload cannot come between loading and use.
        self.lock_use(shard).last = Some(Instant::now());
        Ok(f(live.as_ref().expect("loaded above")))
    }

    /// The repo that holds this case, loaded if need be. Reading a case keeps its shard
    /// loaded for another quiet period.
    pub async fn for_case(&self, case_id: &str) -> Result<samod::Repo, samod::Stopped> {
        self.with_live(self.shard_of(case_id), |s| s.repo.clone())
            .await
    }

    /// Looks a case up in its shard (loaded if need be), as [`samod::Repo::find`] does.
    pub async fn find(&self, case_id: &str) -> Result<Option<samod::DocHandle>, samod::Stopped> {
        let id: samod::DocumentId = case_id.parse().map_err(|_| samod::Stopped)?;
        self.for_case(case_id).await?.find(id).await
    }

    /// Where a shard's cases are worked on: here (taking the shard, and loading it, if no relay
    /// holds it), or at another relay. Always here for a relay on its own.
    pub async fn place(&self, shard: usize) -> Place {
        let Some(cluster) = &self.inner.cluster else {
            return Place::Here;
        };
        // Through `with_live` even when held: it counts as a use, so the shard cannot unload
        // (and move) before the caller uses it.
        if self.with_live(shard, |_| ()).await.is_ok() {
            return Place::Here;
        }
        cluster.elsewhere(shard).await
    }

    /// Where a case is worked on (see [`Repos::place`]).
    pub async fn place_of(&self, case_id: &str) -> Place {
        self.place(self.shard_of(case_id)).await
    }

    /// The case's document if its shard is loaded here, without loading or claiming it.
    pub async fn find_loaded(
        &self,
        case_id: &str,
    ) -> Result<Option<samod::DocHandle>, samod::Stopped> {
        let shard = self.shard_of(case_id);
        let loaded = self.inner.shards[shard].live.lock().await.is_some();
        if !loaded && self.inner.cluster.is_some() {
            return Ok(None);
        }
        self.find(case_id).await
    }

    /// The relay's copy of a case, or `None` if nothing of it is stored: loaded here, or as
    /// stored when another relay works on it (what it has acknowledged is stored).
    pub async fn copy(&self, case_id: &str) -> Result<Option<Copy>, samod::Stopped> {
        match self.place(self.shard_of(case_id)).await {
            Place::Here => Ok(self.find(case_id).await?.map(Copy::Live)),
            Place::There(_) | Place::Unsettled => Ok(self
                .inner
                .store
                .stored_copy(case_id)
                .await
                .map(|doc| Copy::Stored(Box::new(doc)))),
        }
    }

    /// Changes when the shard holding `case_id` is unloaded: a document handle from it is
    /// then dead, and should be dropped.
    pub fn unloads(&self, case_id: &str) -> tokio::sync::watch::Receiver<u64> {
        self.inner.shards[self.shard_of(case_id)]
            .unloads
            .subscribe()
    }

    /// Hands a client connection to a case shard; it stays loaded while the returned hold is
    /// kept. `Err` once the relay is stopping.
    pub async fn accept(
        &self,
        shard: usize,
        transport: samod::Transport,
    ) -> Result<ShardUse, samod::Stopped> {
        self.with_live(shard, |s| {
            s.acceptor.accept(transport).map(|_| ())?;
            // Counted under the shard's lock, so an unload cannot slip in between.
            self.lock_use(shard).connections += 1;
            Ok(ShardUse {
                repos: self.clone(),
                shard,
            })
        })
        .await?
    }

    /// Hands a client connection to the lobby, which answers its `join`.
    pub fn accept_lobby(&self, transport: samod::Transport) -> Result<(), samod::Stopped> {
        self.inner.lobby.acceptor.accept(transport).map(|_| ())
    }

    /// A case was destroyed: its store never writes or reads it again ([`crate::records`]).
    pub fn destroyed(&self, case_id: &str) {
        self.inner.store.destroyed(case_id);
    }

    /// The relay's peer id, the same in every shard.
    pub fn peer_id(&self) -> samod::PeerId {
        self.inner.peer_id.clone()
    }

    /// How many case shards are loaded now.
    pub async fn loaded(&self) -> usize {
        let mut n = 0;
        for slot in &self.inner.shards {
            n += usize::from(slot.live.lock().await.is_some());
        }
        n
    }

    /// Stops every shard nobody has used for the quiet period, and gives the memory back.
    pub async fn unload_idle(&self) {
        let mut unloaded = 0;
        for (shard, slot) in self.inner.shards.iter().enumerate() {
            // A shard being loaded (or taken over, which can wait seconds) is in use: skip it
            // rather than wait behind it.
            let Ok(mut live) = slot.live.try_lock() else {
                continue;
            };
            if live.is_none() {
                // Claimed by a caller that never loaded it (cancelled): give it back.
                if let Some(cluster) = &self.inner.cluster {
                    cluster.release(shard).await;
                }
                continue;
            }
            let idle = {
                let u = self.lock_use(shard);
                u.connections == 0 && u.last.is_none_or(|t| t.elapsed() >= self.inner.quiet)
            };
            if idle {
                if let Some(s) = live.take() {
                    // Waits for the shard's storage writes: nothing is lost.
                    s.stop().await;
                    slot.unloads.send_modify(|n| *n += 1);
                    self.inner
                        .store
                        .durable()
                        .forget(|case| self.shard_of(case) == shard);
                    // Under the shard's lock, so it cannot load again here before this.
                    if let Some(cluster) = &self.inner.cluster {
                        cluster.release(shard).await;
                    }
                    unloaded += 1;
                    tracing::debug!(shard, "idle shard unloaded");
                }
            }
        }
        if unloaded > 0 {
            give_memory_back();
        }
    }

    pub async fn stop(&self) {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for (shard, slot) in self.inner.shards.iter().enumerate() {
            let mut live = slot.live.lock().await;
            if let Some(s) = live.take() {
                s.stop().await;
            }
            if let Some(cluster) = &self.inner.cluster {
                cluster.release(shard).await;
            }
        }
        self.inner.lobby.repo.stop().await;
        // Breaks the lobby's repo/acceptor cycle too (see `Shard::stop`).
        self.inner.lobby.acceptor.close();
    }
}

/// The relay's peer id, made once and kept in the database, so that browsers see one service
/// whichever relay process answers them (a standby that took over, or a restart). The storage
/// id is kept by samod itself in the same database.
async fn relay_peer_id(pool: &sqlx::AnyPool) -> Result<samod::PeerId, sqlx::Error> {
    let read = || {
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = 'relay_peer_id'")
            .fetch_optional(pool)
    };
    if let Some(id) = read().await? {
        return Ok(samod::PeerId::from(id.as_str()));
    }
    // Never of the form `p<number>-…`: those are professionals' browsers.
    let fresh = format!(
        "relay-{}",
        hex::encode(&crate::accounts::random_bytes()[..16])
    );
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ('relay_peer_id', $1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&fresh)
    .execute(pool)
    .await?;
    let id = read().await?.unwrap_or(fresh);
    Ok(samod::PeerId::from(id.as_str()))
}

/// Makes the store's id (which samod tells browsers) before samod would, so that relays
/// starting together on a new database do not each make one and overwrite each other's.
async fn one_storage_id(pool: &sqlx::AnyPool) -> Result<(), sqlx::Error> {
    // A random (version 4) UUID, the form samod makes.
    let mut b = crate::accounts::random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    sqlx::query(
        "INSERT INTO documents (key, data) VALUES ('storage-adapter-id', $1)
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(id.into_bytes())
    .execute(pool)
    .await?;
    Ok(())
}

/// The allocator keeps freed memory for reuse; after unloading cases, hand it back to the
/// system so the relay's size follows what it holds.
fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap memory; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
