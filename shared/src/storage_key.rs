//! automerge-repo's storage key layout, used both in IndexedDB and in the relay's SQL.
//!
//! Keys are lists of strings; no part contains `/`, so `parts.join("/")` is a faithful
//! flat form for key-value stores.

use crate::DocumentId;
use automerge::ChangeHash;
use sha2::{Digest, Sha256};

/// One key in the store, e.g. `["<doc>", "incremental", "<change hash>"]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey(Vec<String>);

impl StorageKey {
    /// One change, saved as it was made.
    pub fn incremental(doc: &DocumentId, change: &ChangeHash) -> Self {
        Self(vec![
            doc.to_string(),
            "incremental".into(),
            change.to_string(),
        ])
    }

    /// A whole document, saved when its incremental chunks are compacted.
    /// Named by a hash of its heads, as automerge-repo does.
    pub fn snapshot(doc: &DocumentId, heads: &[ChangeHash]) -> Self {
        let mut hasher = Sha256::new();
        for head in heads {
            hasher.update(head.as_ref());
        }
        Self(vec![
            doc.to_string(),
            "snapshot".into(),
            hex::encode(hasher.finalize()),
        ])
    }

    /// What we last agreed with a peer about a document (automerge's persisted sync state).
    pub fn sync_state(doc: &DocumentId, peer_storage_id: &str) -> Self {
        Self(vec![
            doc.to_string(),
            "sync-state".into(),
            peer_storage_id.to_string(),
        ])
    }

    /// Every key of one document.
    pub fn document_prefix(doc: &DocumentId) -> Self {
        Self(vec![doc.to_string()])
    }

    /// The key under which a store keeps its own storage id.
    pub fn storage_id() -> Self {
        Self(vec!["storage-adapter-id".into()])
    }

    pub fn from_parts<I: IntoIterator<Item = S>, S: Into<String>>(parts: I) -> Self {
        Self(parts.into_iter().map(Into::into).collect())
    }

    /// Parses the flat form written by [`StorageKey::flat`].
    pub fn from_flat(flat: &str) -> Self {
        Self(flat.split('/').map(str::to_string).collect())
    }

    pub fn parts(&self) -> &[String] {
        &self.0
    }

    /// The `/`-joined form, for stores with flat string keys.
    pub fn flat(&self) -> String {
        self.0.join("/")
    }

    pub fn is_prefix_of(&self, other: &StorageKey) -> bool {
        other.0.len() >= self.0.len() && other.0[..self.0.len()] == self.0[..]
    }

    /// Is this a chunk of document data (incremental or snapshot), as opposed to sync state?
    pub fn is_chunk(&self) -> bool {
        matches!(
            self.0.get(1).map(String::as_str),
            Some("incremental" | "snapshot")
        )
    }

    pub fn document(&self) -> Option<DocumentId> {
        self.0.first()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_automerge_repo() {
        let doc = DocumentId::random();
        let key = StorageKey::sync_state(&doc, "relay-store");
        assert_eq!(key.flat(), format!("{doc}/sync-state/relay-store"));
        assert_eq!(StorageKey::from_flat(&key.flat()), key);
        assert!(StorageKey::document_prefix(&doc).is_prefix_of(&key));
        assert!(!key.is_chunk());
        assert_eq!(key.document(), Some(doc));
        let snap = StorageKey::snapshot(&doc, &[]);
        assert!(snap.is_chunk());
        assert_eq!(snap.parts()[2].len(), 64);
    }
}
