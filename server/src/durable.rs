//! Which changes of each case are on disk, so the relay acknowledges only what a crash cannot
//! take back.
//!
//! samod 0.16 sends the sync message that tells a client "I have your change" in the same step
//! as it asks storage to write that change, so the message can reach the client before the
//! write is committed: killed at that moment, the relay would lose a change the client was told
//! it had (the SIGKILL test saw it). The client never deletes its own changes, so nothing is
//! lost for good, but an acknowledgement must mean "on disk". So every committed chunk is noted
//! here (an incremental chunk's change hash, a snapshot's heads), and a sync message to a
//! client waits until every head it announces is noted ([`Durable::wait_for`]).

use automerge::ChangeHash;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Change hashes remembered per case: the newest are what sync messages announce as heads.
/// A head that stays a head while many other changes are written (one branch idle, another
/// busy) is not forgotten: samod compacts every ~11 changes, and each snapshot's heads, noted
/// again, include it.
const REMEMBERED: usize = 1024;

#[derive(Default)]
struct Known {
    set: HashSet<ChangeHash>,
    order: VecDeque<ChangeHash>,
}

/// Committed changes per case (by document id), and a signal on each commit.
#[derive(Clone, Default)]
pub struct Durable {
    cases: Arc<Mutex<HashMap<String, Known>>>,
    committed: Arc<Notify>,
}

impl Durable {
    /// Forgets the cases `which` picks (unloaded from memory): when one loads again, what is
    /// read back from the database is noted again.
    pub fn forget(&self, which: impl Fn(&str) -> bool) {
        self.cases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|doc, _| !which(doc));
    }

    /// A value under `key` is on disk (committed, or read back from the database).
    pub fn note(&self, key: &str, data: &[u8]) {
        let mut parts = key.split('/');
        let (Some(doc), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let hashes = match kind {
            "incremental" => name.parse().ok().into_iter().collect(),
            "snapshot" => snapshot_heads(data),
            _ => return,
        };
        if hashes.is_empty() {
            return;
        }
        {
            let mut cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
            let known = cases.entry(doc.to_string()).or_default();
            for h in hashes {
                if known.set.insert(h) {
                    known.order.push_back(h);
                }
            }
            while known.order.len() > REMEMBERED {
                if let Some(old) = known.order.pop_front() {
                    known.set.remove(&old);
                }
            }
        }
        self.committed.notify_waiters();
    }

    fn all_noted(&self, doc: &str, heads: &[ChangeHash]) -> bool {
        let cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
        cases
            .get(doc)
            .is_some_and(|k| heads.iter().all(|h| k.set.contains(h)))
    }

    /// Waits until every one of `heads` of case `doc` is on disk; false after `limit`.
    pub async fn wait_for(&self, doc: &str, heads: &[ChangeHash], limit: Duration) -> bool {
        if heads.is_empty() {
            return true;
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Registered before checking, so a commit between the two is not missed.
            let committed = self.committed.notified();
            if self.all_noted(doc, heads) {
                return true;
            }
            if tokio::time::timeout_at(deadline, committed).await.is_err() {
                return self.all_noted(doc, heads);
            }
        }
    }
}

/// The heads a document chunk (a snapshot) was saved at, read from its header: magic (4),
/// checksum (4), type (1, 0 for a document), length, then actors (count, each length-prefixed)
/// and heads (count, 32 bytes each). Empty if the bytes are not such a chunk.
fn snapshot_heads(data: &[u8]) -> Vec<ChangeHash> {
    fn uleb(data: &[u8], at: &mut usize) -> Option<usize> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *data.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    }
    let read = || -> Option<Vec<ChangeHash>> {
        if data.get(..4)? != [0x85, 0x6f, 0x4a, 0x83] || *data.get(8)? != 0 {
            return None;
        }
        let mut at = 9;
        uleb(data, &mut at)?; // body length
        let actors = uleb(data, &mut at)?;
        for _ in 0..actors {
            let len = uleb(data, &mut at)?;
            at = at.checked_add(len)?;
        }
        let count = uleb(data, &mut at)?;
        let mut heads = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let bytes = data.get(at..at.checked_add(32)?)?;
            heads.push(ChangeHash::try_from(bytes).ok()?);
            at += 32;
        }
        Some(heads)
    };
    read().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn a_snapshots_heads_are_read_from_its_header() {
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).unwrap();
        let mut other = doc.fork();
        doc.put(automerge::ROOT, "b", 2).unwrap();
        other.put(automerge::ROOT, "c", 3).unwrap();
        doc.merge(&mut other).unwrap();
        let mut heads = doc.get_heads();
        heads.sort();
        let mut read = snapshot_heads(&doc.save());
        read.sort();
        assert_eq!(read.len(), 2);
        assert_eq!(read, heads);
        assert!(snapshot_heads(b"nonsense").is_empty());
    }

    #[tokio::test]
    async fn a_head_counts_once_its_chunk_is_noted() {
        let durable = Durable::default();
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).unwrap();
        let head = doc.get_heads()[0];
        let short = Duration::from_millis(50);
        assert!(!durable.wait_for("d", &[head], short).await);
        let waiter = {
            let durable = durable.clone();
            tokio::spawn(
                async move { durable.wait_for("d", &[head], Duration::from_secs(5)).await },
            )
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        durable.note(&format!("d/incremental/{head}"), b"");
        assert!(waiter.await.unwrap());
        assert!(durable.wait_for("d", &[], short).await);
        assert!(!durable.wait_for("other", &[head], short).await);
    }
}
