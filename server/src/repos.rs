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

use crate::access::CasePolicy;
use crate::storage::{SqlStorage, StorageError};
use std::sync::Arc;

/// How many repos. More makes each hub's scan shorter; each costs a few idle tasks.
pub const SHARDS: usize = 16;

/// One repo of the relay, with the acceptor that hands it connections.
struct Shard {
    repo: samod::Repo,
    acceptor: samod::AcceptorHandle,
}

#[derive(Clone)]
pub struct Repos {
    shards: Arc<[Shard]>,
}

impl Repos {
    /// Loads every shard. They are loaded one after another so that the first makes the
    /// store's id and the rest read the same one.
    pub async fn open(store: SqlStorage, policy: CasePolicy) -> Result<Repos, StorageError> {
        let mut shards: Vec<Shard> = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            let builder = samod::Repo::build_tokio()
                .with_storage(store.clone())
                // Members get their cases read-write; everyone else gets doc-unavailable. Never
                // push documents at a client that did not ask: a browser syncs only the cases
                // it opens.
                .with_share_policy(policy.clone());
            let builder = match shards.first() {
                Some(first) => builder.with_peer_id(first.repo.peer_id()),
                None => builder,
            };
            let repo = builder.load().await;
            let acceptor = repo
                .make_acceptor(samod::Url::parse("ws://relay/sync").expect("static URL"))
                .map_err(|_| StorageError::Stopped)?;
            shards.push(Shard { repo, acceptor });
        }
        Ok(Repos {
            shards: shards.into(),
        })
    }

    /// The shard a case lives in: FNV-1a of its id, so it is the same after a restart.
    pub fn shard_of(&self, case_id: &str) -> usize {
        let hash = case_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        (hash % self.shards.len() as u64) as usize
    }

    /// The repo that holds this case.
    pub fn for_case(&self, case_id: &str) -> &samod::Repo {
        &self.shards[self.shard_of(case_id)].repo
    }

    /// Hands a connection to one shard; `Err` once the relay is stopping.
    pub fn accept(&self, shard: usize, transport: samod::Transport) -> Result<(), samod::Stopped> {
        self.shards[shard].acceptor.accept(transport).map(|_| ())
    }

    /// The relay's peer id, the same in every shard.
    pub fn peer_id(&self) -> samod::PeerId {
        self.shards[0].repo.peer_id()
    }

    pub async fn stop(&self) {
        for shard in self.shards.iter() {
            shard.repo.stop().await;
        }
    }
}
