//! The client side of the automerge-repo protocol, as a sans-IO state machine.
//!
//! [`SyncClient`] holds the open documents and one automerge sync state per document for the
//! relay. The app feeds it events ("connected", "this frame arrived", "the person typed") and
//! carries out the [`Effect`]s it returns, in order: store these bytes, delete that key, send
//! this frame. Because every batch that sends a document's changes first stores them, a
//! change is always on the device before it leaves it.

use crate::protocol::{Message, PeerMetadata, PROTOCOL_VERSION};
use crate::storage_key::StorageKey;
use crate::untrusted;
use crate::DocumentId;
use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Author, AutoCommit, ChangeHash, ReadDoc};
use std::collections::{BTreeSet, HashMap};

/// After this many incremental chunks a document is saved whole and the chunks deleted.
pub const COMPACT_AFTER_CHUNKS: usize = 10;

/// Something the app must do for the client, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this frame to the relay.
    Send(Vec<u8>),
    /// Store these bytes under this key (durably, before carrying out later effects).
    Put { key: StorageKey, data: Vec<u8> },
    /// Remove this key from storage (only ever after the data it held is stored elsewhere).
    Delete { key: StorageKey },
    /// Changes from someone else were applied to this document: redraw it.
    Changed(DocumentId),
    /// The relay does not have this document (or may not share it with us).
    Unavailable(DocumentId),
    /// The handshake finished.
    Connected { relay_peer_id: String },
    /// Someone sent data about a document that is not stored, e.g. presence.
    Ephemeral {
        document_id: DocumentId,
        sender_id: String,
        data: Vec<u8>,
    },
}

/// The relay broke the protocol, or told us it found us breaking it. The app should close
/// the connection and reconnect later; no local data is affected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("a message from the relay could not be read: {0}")]
    Decode(#[from] crate::protocol::DecodeError),
    #[error("the relay sent {0} before the handshake finished")]
    BeforeHandshake(&'static str),
    #[error("the relay speaks protocol version {0}, we speak 1")]
    Version(String),
    #[error("a sync message for {0} could not be applied: {1}")]
    Sync(DocumentId, String),
    #[error("the relay reported an error: {0}")]
    Remote(String),
}

/// How far the connection has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Disconnected,
    /// `join` sent, waiting for `peer`.
    Joining,
    Ready {
        relay_peer_id: String,
        relay_storage_id: Option<String>,
    },
}

/// Why we hold a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// We have its content (created here, loaded from storage, or received).
    Have,
    /// Opened by link: asked the relay, no content yet.
    Requested,
    /// The relay said it does not have it.
    Unavailable,
}

struct DocEntry {
    doc: AutoCommit,
    holding: Holding,
    /// Sync state with the relay on the current connection.
    sync: sync::State,
    /// Persisted sync states from storage, by the peer's storage id.
    stored_sync: HashMap<String, Vec<u8>>,
    /// Heads the relay is known to have: what "not yet on the relay" is measured from.
    relay_heads: Vec<ChangeHash>,
    /// Heads whose changes are in storage (or queued to be, in effects already returned).
    saved_heads: Vec<ChangeHash>,
    /// Chunk keys in storage for this document.
    chunks: BTreeSet<StorageKey>,
    /// What [`SyncClient::waiting`] last found, and at which heads and relay heads: it is
    /// worked out again only when either moves (or kept while edits are in progress).
    waiting: Option<Waiting>,
    waiting_at: Option<(Vec<ChangeHash>, Vec<ChangeHash>)>,
}

/// A document with changes made here that the relay does not have yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: DocumentId,
    pub changes: usize,
    /// When the oldest was made (the device's clock, Unix ms; 0 if unknown).
    pub since: i64,
}

/// The client repo: open documents and their sync with one relay.
pub struct SyncClient {
    peer_id: String,
    /// Set on every open document before any edit: whose changes this client makes (see
    /// [`crate::authorship`]); none before someone signs in.
    author: Option<Author<'static>>,
    /// The device's clock (Unix seconds) as the host last said, written into each change it
    /// commits; 0 until told. Advisory only: the relay's receipts say when a change was shared.
    clock: i64,
    storage_id: String,
    session_id: String,
    ephemeral_count: u64,
    connection: Connection,
    docs: HashMap<DocumentId, DocEntry>,
}

impl SyncClient {
    /// `peer_id` names this connection; `storage_id` names this device's store and stays the
    /// same across sessions, so the relay and we can remember what we last agreed.
    pub fn new(peer_id: String, storage_id: String) -> Self {
        Self {
            author: author_for_peer(&peer_id),
            clock: 0,
            peer_id,
            storage_id,
            session_id: DocumentId::random().to_string(),
            ephemeral_count: 0,
            connection: Connection::Disconnected,
            docs: HashMap::new(),
        }
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// Names the next connection differently, e.g. once someone signs in (the relay checks the
    /// peer id against the session). Takes effect on the next [`SyncClient::connected`].
    pub fn set_peer_id(&mut self, peer_id: String) {
        self.author = author_for_peer(&peer_id);
        self.peer_id = peer_id;
        for entry in self.docs.values_mut() {
            entry.doc.set_author(self.author.clone());
        }
    }

    /// The device's time now (Unix seconds), for the changes committed next.
    pub fn set_time(&mut self, unix_seconds: i64) {
        self.clock = unix_seconds;
    }

    /// Adds a document, written from now on under this client's author.
    fn insert(&mut self, id: DocumentId, mut entry: DocEntry) {
        entry.doc.set_author(self.author.clone());
        self.docs.insert(id, entry);
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.connection, Connection::Ready { .. })
    }

    /// The transport is open: start the handshake.
    pub fn connected(&mut self) -> Vec<Effect> {
        self.reset_sync_states();
        self.connection = Connection::Joining;
        vec![Effect::Send(
            Message::Join {
                sender_id: self.peer_id.clone(),
                supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
                metadata: Some(PeerMetadata {
                    storage_id: Some(self.storage_id.clone()),
                    is_ephemeral: false,
                }),
            }
            .encode(),
        )]
    }

    /// The transport closed. What was in flight is forgotten; what both sides agreed is kept.
    pub fn disconnected(&mut self) {
        self.connection = Connection::Disconnected;
        self.reset_sync_states();
    }

    fn reset_sync_states(&mut self) {
        for entry in self.docs.values_mut() {
            entry.sync = sync::State::new();
        }
    }

    /// Starts syncing one document afresh, e.g. once the relay has let us in to a case it
    /// turned away before (its sync state still thinks our first message is in flight).
    pub fn resync(&mut self, id: &DocumentId) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Some(e) = self.docs.get_mut(id) {
            e.sync = sync::State::new();
            self.generate(id, &mut out);
        }
        out
    }

    /// Adds a document made on this device, and returns the effects that store and send it.
    pub fn create(&mut self, doc: AutoCommit) -> (DocumentId, Vec<Effect>) {
        let id = DocumentId::random();
        self.insert(id, DocEntry::new(doc, Holding::Have));
        (id, self.flush(&id))
    }

    /// Adds a document from storage: every key stored under its prefix.
    /// Returns how many chunks could not be read (they are left in storage untouched).
    pub fn load(&mut self, id: DocumentId, stored: Vec<(StorageKey, Vec<u8>)>) -> usize {
        let mut doc = AutoCommit::new();
        let mut chunks = BTreeSet::new();
        let mut stored_sync = HashMap::new();
        let mut unreadable = 0;
        for (key, data) in stored {
            match key.parts().get(1).map(String::as_str) {
                Some("incremental" | "snapshot") => {
                    if checked(&data).is_ok()
                        && untrusted::decoding(&id, || doc.load_incremental(&data)).is_ok()
                    {
                        chunks.insert(key);
                    } else {
                        unreadable += 1;
                    }
                }
                Some("sync-state") => {
                    if let Some(peer_storage) = key.parts().get(2) {
                        stored_sync.insert(peer_storage.clone(), data);
                    }
                }
                _ => {}
            }
        }
        let heads = doc.get_heads();
        let relay_heads = stored_sync
            .values()
            .filter_map(|bytes| sync::State::decode(bytes).ok())
            .map(|s| s.shared_heads)
            .max_by_key(|h| h.len())
            .unwrap_or_default();
        let holding = if heads.is_empty() {
            Holding::Requested
        } else {
            Holding::Have
        };
        let mut entry = DocEntry::new(doc, holding);
        entry.saved_heads = heads;
        entry.chunks = chunks;
        entry.stored_sync = stored_sync;
        entry.relay_heads = relay_heads;
        self.insert(id, entry);
        unreadable
    }

    /// Opens a document we do not hold (e.g. from a link) by asking the relay for it.
    pub fn request(&mut self, id: DocumentId) -> Vec<Effect> {
        if !self.docs.contains_key(&id) {
            self.insert(id, DocEntry::new(AutoCommit::new(), Holding::Requested));
        }
        self.flush(&id)
    }

    /// Takes in chunks stored for a document held here that it has not seen (written by
    /// another tab of the same device, say), checked as when loading.
    pub fn take_in(&mut self, id: &DocumentId, stored: Vec<(StorageKey, Vec<u8>)>) {
        let Some(e) = self.docs.get_mut(id) else {
            return;
        };
        for (key, data) in stored {
            if key.is_chunk()
                && !e.chunks.contains(&key)
                && checked(&data).is_ok()
                && untrusted::decoding(id, || e.doc.load_incremental(&data)).is_ok()
            {
                e.chunks.insert(key);
            }
        }
    }

    /// Drops a document from memory (its storage is the host's to delete): it is no longer
    /// synced or announced. True if it was held.
    pub fn forget(&mut self, id: &DocumentId) -> bool {
        self.docs.remove(id).is_some()
    }

    pub fn holds(&self, id: &DocumentId) -> bool {
        self.docs.contains_key(id)
    }

    pub fn holding(&self, id: &DocumentId) -> Option<Holding> {
        self.docs.get(id).map(|e| e.holding)
    }

    pub fn document(&self, id: &DocumentId) -> Option<&AutoCommit> {
        self.docs.get(id).map(|e| &e.doc)
    }

    /// For local edits. Call [`SyncClient::flush`] afterwards (debounced) to store and send them.
    pub fn document_mut(&mut self, id: &DocumentId) -> Option<&mut AutoCommit> {
        self.docs.get_mut(id).map(|e| &mut e.doc)
    }

    /// Stores a document's unsaved changes, then sends what the relay lacks.
    pub fn flush(&mut self, id: &DocumentId) -> Vec<Effect> {
        let mut out = Vec::new();
        self.save(id, &mut out);
        self.generate(id, &mut out);
        out
    }

    /// Storage refused a write for this document: forget what we thought was saved, so the
    /// next flush writes it all again, and abandon the sync message that followed it.
    pub fn storage_failed(&mut self, id: &DocumentId) {
        if let Some(e) = self.docs.get_mut(id) {
            e.saved_heads.clear();
            e.sync = sync::State::new();
        }
    }

    /// Local changes to this document that the relay does not have yet.
    pub fn unsent_changes(&mut self, id: &DocumentId) -> usize {
        self.docs.get_mut(id).map_or(0, |e| {
            if e.relay_heads
                .iter()
                .all(|h| e.doc.get_change_by_hash(h).is_some())
            {
                e.doc.get_changes(&e.relay_heads).len()
            } else {
                0
            }
        })
    }

    /// Unsent changes across all open documents.
    pub fn unsent_total(&mut self) -> usize {
        self.waiting().iter().map(|w| w.changes).sum()
    }

    /// The documents with local changes the relay does not have yet: how many, and when the
    /// oldest was made (the device's clock, Unix ms; 0 if it did not say).
    ///
    /// A document still being typed in (edits not yet committed) is not looked into: reading
    /// its changes would commit those edits without a time, a change per call. It counts as
    /// waiting, with what was known before plus the edits in progress as one change.
    pub fn waiting(&mut self) -> Vec<Waiting> {
        let mut out: Vec<Waiting> = Vec::new();
        for (id, e) in self.docs.iter_mut() {
            if e.doc.pending_ops() > 0 {
                let known = e.waiting.clone().unwrap_or(Waiting {
                    id: *id,
                    changes: 0,
                    since: 0,
                });
                out.push(Waiting {
                    changes: known.changes + 1,
                    ..known
                });
                continue;
            }
            let at = (e.doc.get_heads(), e.relay_heads.clone());
            if e.waiting_at.as_ref() == Some(&at) {
                out.extend(e.waiting.clone());
                continue;
            }
            let all_known = e
                .relay_heads
                .iter()
                .all(|h| e.doc.get_change_by_hash(h).is_some());
            let changes = if all_known {
                e.doc.get_changes(&e.relay_heads)
            } else {
                Vec::new()
            };
            e.waiting = (!changes.is_empty()).then(|| Waiting {
                id: *id,
                changes: changes.len(),
                since: changes
                    .iter()
                    .map(|c| c.timestamp() * 1000)
                    .filter(|t| *t > 0)
                    .min()
                    .unwrap_or(0),
            });
            e.waiting_at = Some(at);
            out.extend(e.waiting.clone());
        }
        out.sort_by_key(|w| (w.since, w.id.to_string()));
        out
    }

    /// Sends data about a document that is not stored (presence) to everyone who has it open.
    pub fn broadcast(&mut self, id: &DocumentId, data: Vec<u8>) -> Vec<Effect> {
        let Connection::Ready { relay_peer_id, .. } = &self.connection else {
            return Vec::new();
        };
        self.ephemeral_count += 1;
        vec![Effect::Send(
            Message::Ephemeral {
                sender_id: self.peer_id.clone(),
                target_id: relay_peer_id.clone(),
                count: self.ephemeral_count,
                session_id: self.session_id.clone(),
                document_id: *id,
                data,
            }
            .encode(),
        )]
    }

    /// A frame arrived from the relay.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<Effect>, ProtocolError> {
        let mut out = Vec::new();
        match Message::decode(frame)? {
            Message::Peer {
                sender_id,
                selected_protocol_version,
                metadata,
                ..
            } => {
                if selected_protocol_version != PROTOCOL_VERSION {
                    return Err(ProtocolError::Version(selected_protocol_version));
                }
                let relay_storage_id = metadata
                    .filter(|m| !m.is_ephemeral)
                    .and_then(|m| m.storage_id);
                for entry in self.docs.values_mut() {
                    entry.sync = relay_storage_id
                        .as_ref()
                        .and_then(|s| entry.stored_sync.get(s))
                        .and_then(|bytes| sync::State::decode(bytes).ok())
                        .unwrap_or_default();
                }
                self.connection = Connection::Ready {
                    relay_peer_id: sender_id.clone(),
                    relay_storage_id,
                };
                out.push(Effect::Connected {
                    relay_peer_id: sender_id,
                });
                let ids: Vec<_> = self.docs.keys().copied().collect();
                for id in ids {
                    self.save(&id, &mut out);
                    self.generate(&id, &mut out);
                }
            }
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } => {
                self.require_ready("sync")?;
                if self.docs.contains_key(&document_id) {
                    self.apply_sync(&document_id, &data, &mut out)?;
                } else {
                    // We never asked for it; say we don't have it rather than store it.
                    out.push(self.unavailable(document_id));
                }
            }
            Message::DocUnavailable { document_id, .. } => {
                self.require_ready("doc-unavailable")?;
                if let Some(e) = self.docs.get_mut(&document_id) {
                    if e.holding == Holding::Requested {
                        e.holding = Holding::Unavailable;
                        out.push(Effect::Unavailable(document_id));
                    }
                }
            }
            Message::Ephemeral {
                sender_id,
                document_id,
                data,
                ..
            } => {
                self.require_ready("ephemeral")?;
                out.push(Effect::Ephemeral {
                    document_id,
                    sender_id,
                    data,
                });
            }
            Message::Error { message } => return Err(ProtocolError::Remote(message)),
            Message::Join { .. } => return Err(ProtocolError::BeforeHandshake("join")),
            Message::Leave { .. } | Message::Ignored { .. } => {}
        }
        Ok(out)
    }

    fn require_ready(&self, kind: &'static str) -> Result<(), ProtocolError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(ProtocolError::BeforeHandshake(kind))
        }
    }

    fn unavailable(&self, document_id: DocumentId) -> Effect {
        let target_id = match &self.connection {
            Connection::Ready { relay_peer_id, .. } => relay_peer_id.clone(),
            _ => String::new(),
        };
        Effect::Send(
            Message::DocUnavailable {
                sender_id: self.peer_id.clone(),
                target_id,
                document_id,
            }
            .encode(),
        )
    }

    fn apply_sync(
        &mut self,
        id: &DocumentId,
        data: &[u8],
        out: &mut Vec<Effect>,
    ) -> Result<(), ProtocolError> {
        let relay_storage = match &self.connection {
            Connection::Ready {
                relay_storage_id, ..
            } => relay_storage_id.clone(),
            _ => None,
        };
        // Checked before the real document sees it: a message that would break the decoder is
        // refused and the connection dropped, and the case stays as it was.
        let message = untrusted::check_sync_message(data)
            .map_err(|e| ProtocolError::Sync(*id, e.to_string()))?;
        // Our own edits go to storage before the relay's, so nothing local is ever only in memory
        // alongside a newer remote state.
        self.save(id, out);
        let Some(e) = self.docs.get_mut(id) else {
            return Ok(());
        };
        let before = e.doc.get_heads();
        untrusted::decoding(id, || {
            e.doc.sync().receive_sync_message(&mut e.sync, message)
        })
        .map_err(|err| ProtocolError::Sync(*id, err.to_string()))?;
        e.relay_heads = e.sync.shared_heads.clone();
        // Filling an empty document replaces it whole in automerge, author and all.
        if e.doc.get_author() != self.author.as_ref() {
            e.doc.set_author(self.author.clone());
        }
        let after = e.doc.get_heads();
        if after != before {
            if !after.is_empty() {
                e.holding = Holding::Have;
            }
            out.push(Effect::Changed(*id));
        }
        if let Some(storage) = relay_storage {
            let state = e.sync.encode();
            if e.stored_sync.get(&storage) != Some(&state) {
                e.stored_sync.insert(storage.clone(), state.clone());
                out.push(Effect::Put {
                    key: StorageKey::sync_state(id, &storage),
                    data: state,
                });
            }
        }
        self.save(id, out);
        self.generate(id, out);
        Ok(())
    }

    /// Queues storage of changes not yet saved, compacting when chunks pile up.
    fn save(&mut self, id: &DocumentId, out: &mut Vec<Effect>) {
        let Some(e) = self.docs.get_mut(id) else {
            return;
        };
        if self.clock > 0 && e.doc.pending_ops() > 0 {
            e.doc
                .commit_with(CommitOptions::default().with_time(self.clock));
        }
        let heads = e.doc.get_heads();
        if heads == e.saved_heads || heads.is_empty() {
            return;
        }
        let changes = e.doc.get_changes(&e.saved_heads);
        if e.chunks.len() + changes.len() > COMPACT_AFTER_CHUNKS {
            let key = StorageKey::snapshot(id, &heads);
            out.push(Effect::Put {
                key: key.clone(),
                data: e.doc.save(),
            });
            for old in std::mem::take(&mut e.chunks) {
                if old != key {
                    out.push(Effect::Delete { key: old });
                }
            }
            e.chunks.insert(key);
        } else {
            for change in changes {
                let key = StorageKey::incremental(id, &change.hash());
                out.push(Effect::Put {
                    key: key.clone(),
                    data: change.raw_bytes().to_vec(),
                });
                e.chunks.insert(key);
            }
        }
        e.saved_heads = heads;
    }

    /// Queues the next sync message for a document, if the relay needs one.
    fn generate(&mut self, id: &DocumentId, out: &mut Vec<Effect>) {
        let Connection::Ready { relay_peer_id, .. } = &self.connection else {
            return;
        };
        let Some(e) = self.docs.get_mut(id) else {
            return;
        };
        let first = e.sync.their_heads.is_none() && e.sync.shared_heads.is_empty();
        let Some(message) = e.doc.sync().generate_sync_message(&mut e.sync) else {
            return;
        };
        assume_answered(&mut e.sync, &message);
        let data = message.encode();
        let (sender_id, target_id, document_id) =
            (self.peer_id.clone(), relay_peer_id.clone(), *id);
        // A document we hold nothing of is asked for with `request`, so the relay answers
        // `doc-unavailable` instead of waiting for content we do not have.
        let request = first && e.holding != Holding::Have;
        let frame = Message::document_sync(request, sender_id, target_id, document_id, data);
        out.push(Effect::Send(frame.encode()));
    }
}

impl DocEntry {
    fn new(doc: AutoCommit, holding: Holding) -> Self {
        Self {
            doc,
            holding,
            sync: sync::State::new(),
            stored_sync: HashMap::new(),
            relay_heads: Vec::new(),
            saved_heads: Vec::new(),
            chunks: BTreeSet::new(),
            waiting: None,
            waiting_at: None,
        }
    }
}

/// The author for a client's peer id, if it is a signed-in professional's.
fn author_for_peer(peer_id: &str) -> Option<Author<'static>> {
    crate::authorship::professional_of_peer(peer_id).map(crate::authorship::author_of)
}

/// A stored chunk, checked before it joins a document (natively; in the browser the panic hook
/// covers it, see [`untrusted`]).
fn checked(data: &[u8]) -> Result<(), untrusted::Rejected> {
    #[cfg(not(target_arch = "wasm32"))]
    return untrusted::check_chunks(data);
    #[cfg(target_arch = "wasm32")]
    {
        let _ = data;
        Ok(())
    }
}

/// How long to wait before reconnecting: doubling from half a second to half a minute, with
/// jitter (`jitter` in 0..1) so a relay restart is not met by every client at once.
pub fn reconnect_delay_ms(attempt: u32, jitter: f64) -> u32 {
    let base = 500u32.saturating_mul(1u32 << attempt.min(6)).min(30_000);
    let factor = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
    (f64::from(base) * factor) as u32
}

/// The heads a sync message says both sides hold, when it says so: the sender holds `heads`
/// and knows the receiver holds them too (every `have` starts from them). The relay leaves out
/// its answer to such a message when it holds exactly those heads (a case nobody changed, on
/// coming back online): the answer would say nothing new.
pub fn settled_heads(message: &sync::Message) -> Option<Vec<ChangeHash>> {
    let mut heads = message.heads.clone();
    heads.sort();
    let settled = !heads.is_empty()
        && !message.have.is_empty()
        && message.have.iter().all(|have| {
            let mut last = have.last_sync.clone();
            last.sort();
            last == heads
        });
    settled.then_some(heads)
}

/// After sending a message the relay may not answer (see [`settled_heads`]), takes as said
/// what that answer would have said (the relay has our heads and needs nothing), so that the
/// next edit is sent with its changes at once instead of after a round trip. An answer that
/// does come (the relay holds something else) replaces this.
fn assume_answered(state: &mut sync::State, message: &sync::Message) {
    if settled_heads(message).is_some() && state.their_heads.is_none() {
        state.their_heads = Some(message.heads.clone());
        state.their_have = Some(vec![sync::Have {
            last_sync: message.heads.clone(),
            bloom: Default::default(),
        }]);
        state.their_need = Some(Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Back online with nothing changed, the relay does not answer; the first edit after that
    /// still goes out with its change in the very next message.
    #[test]
    fn the_first_edit_after_a_quiet_return_goes_at_once() {
        let mut ours = AutoCommit::new();
        ours.put(automerge::ROOT, "name", "Sam").unwrap();
        let mut relay = AutoCommit::new();
        let (mut os, mut rs) = (sync::State::new(), sync::State::new());
        for _ in 0..6 {
            if let Some(m) = ours.sync().generate_sync_message(&mut os) {
                relay.sync().receive_sync_message(&mut rs, m).unwrap();
            }
            if let Some(m) = relay.sync().generate_sync_message(&mut rs) {
                ours.sync().receive_sync_message(&mut os, m).unwrap();
            }
        }
        // Reconnected: only what is stored of our state.
        let mut os = sync::State::decode(&os.encode()).unwrap();
        let said = ours.sync().generate_sync_message(&mut os).unwrap();
        assert!(settled_heads(&said).is_some());
        assume_answered(&mut os, &said);
        // No answer comes. An edit:
        ours.put(automerge::ROOT, "name", "Sam Smith").unwrap();
        let next = ours.sync().generate_sync_message(&mut os).unwrap();
        assert_eq!(next.changes.len(), 1, "the change goes in the next message");
        assert!(settled_heads(&next).is_none());
    }
    use crate::case::{Case, Field};

    fn effects_of_kind(effects: &[Effect], f: impl Fn(&Effect) -> bool) -> usize {
        effects.iter().filter(|e| f(e)).count()
    }

    #[test]
    fn a_new_case_is_stored_before_anything_is_sent() {
        let mut c = SyncClient::new("p".into(), "s".into());
        let (_, effects) = c.create(Case::new("Sam").into_document().unwrap());
        assert!(effects_of_kind(&effects, |e| matches!(e, Effect::Put { .. })) >= 1);
        assert_eq!(
            effects_of_kind(&effects, |e| matches!(e, Effect::Send(_))),
            0
        );
    }

    #[test]
    fn typing_is_committed_once_per_flush_with_the_devices_time() {
        let mut c = SyncClient::new("p".into(), "s".into());
        let (id, _) = c.create(Case::new("Sam").into_document().unwrap());
        let before = c.document_mut(&id).unwrap().get_heads();
        for word in ["Often", "Often tired", "Often tired in class."] {
            Field::Concerns
                .write(c.document_mut(&id).unwrap(), word)
                .unwrap();
            // The status bar asks after every keystroke: that must not commit the typing.
            let waiting = c.waiting();
            assert_eq!(waiting.len(), 1);
            assert!(waiting[0].changes >= 1);
        }
        c.set_time(1_795_986_000);
        let _ = c.flush(&id);
        let doc = c.document_mut(&id).unwrap();
        let changes = doc.get_changes(&before);
        assert_eq!(changes.len(), 1, "one change for the whole sentence");
        assert_eq!(changes[0].timestamp(), 1_795_986_000);
        assert_eq!(c.waiting()[0].since, 1_795_986_000_000);
    }

    #[test]
    fn chunks_are_compacted_and_reload_whole() {
        let mut c = SyncClient::new("p".into(), "s".into());
        let (id, mut effects) = c.create(Case::new("Sam").into_document().unwrap());
        for i in 0..25 {
            let doc = c.document_mut(&id).unwrap();
            Field::Concerns.write(doc, &"x".repeat(i + 1)).unwrap();
            effects.extend(c.flush(&id));
        }
        // Apply the effects to a map, as storage would.
        let mut store: HashMap<StorageKey, Vec<u8>> = HashMap::new();
        for e in effects {
            match e {
                Effect::Put { key, data } => {
                    store.insert(key, data);
                }
                Effect::Delete { key } => {
                    assert!(store.remove(&key).is_some());
                }
                _ => {}
            }
        }
        assert!(
            store.len() <= COMPACT_AFTER_CHUNKS,
            "{} chunks",
            store.len()
        );
        let mut d = SyncClient::new("q".into(), "t".into());
        assert_eq!(d.load(id, store.into_iter().collect()), 0);
        let case = Case::from_document(d.document(&id).unwrap()).unwrap();
        assert_eq!(case.concerns.as_str(), "x".repeat(25));
        assert_eq!(d.holding(&id), Some(Holding::Have));
        // Nothing has reached a relay, so every change counts as unsent.
        assert_eq!(d.unsent_changes(&id), 26);
    }

    #[test]
    fn sync_before_handshake_is_a_protocol_error() {
        let mut c = SyncClient::new("p".into(), "s".into());
        c.connected();
        let frame = Message::Sync {
            sender_id: "r".into(),
            target_id: "p".into(),
            document_id: DocumentId::random(),
            data: vec![],
        }
        .encode();
        assert_eq!(
            c.receive(&frame),
            Err(ProtocolError::BeforeHandshake("sync"))
        );
        assert!(matches!(
            c.receive(&[1, 2, 3]),
            Err(ProtocolError::Decode(_))
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(reconnect_delay_ms(0, 1.0), 500);
        assert_eq!(reconnect_delay_ms(1, 1.0), 1000);
        assert_eq!(reconnect_delay_ms(20, 1.0), 30_000);
        assert_eq!(reconnect_delay_ms(20, 0.0), 15_000);
    }
}
