//! Automerge bytes from another party, checked before anything of ours touches them.
//!
//! automerge 0.12's loader can panic on crafted input (e.g. a well-framed document chunk whose
//! columns say "null" where nulls are not allowed makes `hexane` panic), and no automerge
//! release without that defect exists yet. Whoever decodes bytes another party sent (a sync
//! message, a stored chunk read back) goes through here:
//!
//! - natively (the relay, tests, fuzzing), [`check_chunks`] and [`check_sync_message`] load the
//!   bytes into a scratch document with the panic caught, so a bad input is an error and the
//!   real document, and everything stored, is never touched;
//! - in the browser, where a panic aborts the whole app and cannot be caught, [`decoding`]
//!   names the case being decoded for the app's panic hook, which sets that case aside on this
//!   device and reloads, so every other case keeps working.

use crate::DocumentId;
use automerge::sync;
use std::cell::Cell;

/// Bytes that were refused. The reason names the kind of problem only, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("case data could not be read: {0}")]
pub struct Rejected(pub String);

/// Checks that chunks (as `load_incremental` takes them: documents, changes, bundles, in any
/// order) load without panicking or failing. Missing dependencies are fine: a sync message
/// often carries changes that build on what only the receiver has.
#[cfg(not(target_arch = "wasm32"))]
pub fn check_chunks(data: &[u8]) -> Result<(), Rejected> {
    if data.is_empty() {
        return Ok(());
    }
    caught(|| {
        // Both of automerge's load paths: into an empty document (as a new case is filled)...
        automerge::Automerge::load_with_options(
            data,
            automerge::LoadOptions::new()
                .on_partial_load(automerge::OnPartialLoad::Ignore)
                .verification_mode(automerge::VerificationMode::Check),
        )
        .map_err(|e| Rejected(error_kind(&e.to_string())))?;
        // ...and into one with content, which parses and applies changes differently (the
        // fuzzer found input that only the second path panics on).
        scratch_with_content()
            .load_incremental(data)
            .map(|_| ())
            .map_err(|e| Rejected(error_kind(&e.to_string())))
    })?
}

/// A tiny document with one change: enough for automerge to take its non-empty load path.
#[cfg(not(target_arch = "wasm32"))]
fn scratch_with_content() -> automerge::Automerge {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let _ = doc.put(automerge::ROOT, "scratch", 1);
    doc.document().clone()
}

/// Decodes a sync message and checks the changes it carries (see [`check_chunks`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn check_sync_message(data: &[u8]) -> Result<sync::Message, Rejected> {
    let message = caught(|| sync::Message::decode(data))?
        .map_err(|e| Rejected(format!("sync message: {}", error_kind(&e.to_string()))))?;
    if !message.changes.is_empty() {
        let joined: Vec<u8> = message.changes.iter().flatten().copied().collect();
        check_chunks(&joined)?;
    }
    Ok(message)
}

/// In the browser a panic cannot be caught: decoding a sync message is all that can be done
/// here, and [`decoding`] covers the rest.
#[cfg(target_arch = "wasm32")]
pub fn check_sync_message(data: &[u8]) -> Result<sync::Message, Rejected> {
    sync::Message::decode(data)
        .map_err(|e| Rejected(format!("sync message: {}", error_kind(&e.to_string()))))
}

/// Runs `f` with a panic caught and turned into [`Rejected`].
#[cfg(not(target_arch = "wasm32"))]
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, Rejected> {
    // The scratch state is dropped with the panic, so nothing half-made is ever used.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Rejected(format!("the decoder failed ({})", error_kind(&what)))
    })
}

/// The first words of a decoder's message: enough to tell kinds apart, never content (the
/// decoders' messages name columns and lengths, but keep it short anyway).
fn error_kind(message: &str) -> String {
    message.chars().take(80).collect()
}

thread_local! {
    static DECODING: Cell<Option<DocumentId>> = const { Cell::new(None) };
}

static OBSERVER: std::sync::OnceLock<fn(Option<DocumentId>)> = std::sync::OnceLock::new();

/// Registers a function told when decoding for a case starts (`Some`) and ends (`None`). The
/// app writes it down where it survives the tab dying: a decode that aborts without a panic
/// (memory exhausted) never reaches a panic hook, but the note is still there at next start.
pub fn observe_decoding(observer: fn(Option<DocumentId>)) {
    let _ = OBSERVER.set(observer);
}

/// Runs `f`, which decodes bytes for `case`, with the case named for a panic hook (see
/// [`case_being_decoded`]) and any observer ([`observe_decoding`]). Nested calls keep the
/// outer name.
pub fn decoding<T>(case: &DocumentId, f: impl FnOnce() -> T) -> T {
    let outer = DECODING.with(|d| d.replace(Some(*case)));
    let observer = OBSERVER.get().filter(|_| outer.is_none());
    if let Some(tell) = observer {
        tell(Some(*case));
    }
    let out = f();
    if let Some(tell) = observer {
        tell(None);
    }
    DECODING.with(|d| d.set(outer));
    out
}

/// The case whose bytes are being decoded right now, if any: the app's panic hook asks, to
/// set that case aside instead of failing on it again at the next start.
pub fn case_being_decoded() -> Option<DocumentId> {
    DECODING.with(Cell::get)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    use super::fixtures::poisoned_document_chunk;

    #[test]
    fn the_poisoned_chunk_is_rejected_not_a_panic() {
        let chunk = poisoned_document_chunk();
        let err = check_chunks(&chunk).unwrap_err();
        assert!(err.0.contains("decoder failed"), "{err}");
    }

    #[test]
    fn a_sync_message_carrying_it_is_rejected() {
        let message = sync::Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: vec![poisoned_document_chunk()].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        assert!(check_sync_message(&message.encode()).is_err());
        assert!(check_sync_message(b"\x42\x01").is_err());
    }

    #[test]
    fn real_changes_and_documents_pass() {
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "child", "A").unwrap();
        let base = doc.get_heads();
        doc.put(automerge::ROOT, "school", "B").unwrap();
        check_chunks(&doc.save()).unwrap();
        // A change whose dependency the checker does not have still passes.
        let later = doc.save_after(&base);
        check_chunks(&later).unwrap();
        check_chunks(&[]).unwrap();
        assert!(check_chunks(b"not automerge").is_err());
    }

    #[test]
    fn decoding_names_the_case_only_while_it_runs() {
        let case = DocumentId::random();
        assert_eq!(case_being_decoded(), None);
        let inside = decoding(&case, case_being_decoded);
        assert_eq!(inside, Some(case));
        assert_eq!(case_being_decoded(), None);
    }
}

/// What the fuzz targets (`fuzz/`) and their regression test (`shared/tests/untrusted_inputs.rs`)
/// do with one input: the paths by which another party's bytes reach automerge, each guarded as
/// the relay and the client guard them. Whatever the input, none of these may panic; a check
/// that passes must mean the real decode that follows does not panic either.
#[cfg(not(target_arch = "wasm32"))]
pub mod exercise {
    use super::*;
    use crate::protocol::Message;
    use crate::sync::SyncClient;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;

    /// A small real case document: what the relay or a client already holds.
    fn held() -> automerge::Automerge {
        let mut doc = crate::record::CaseRecord::new("Sam")
            .into_document()
            .expect("a new record writes");
        doc.put(automerge::ROOT, "probe", "held").expect("put");
        doc.document().clone()
    }

    /// Chunks as `load_incremental` takes them: if the check passes, loading them whole, into
    /// an empty document and into one with content must all return (error or not).
    pub fn chunks(data: &[u8]) {
        if check_chunks(data).is_err() {
            return;
        }
        let _ = automerge::Automerge::load(data);
        let _ = automerge::Automerge::new().load_incremental(data);
        let _ = held().load_incremental(data);
    }

    /// A relay frame as the relay's inbound path takes it: the protocol decode, then for sync
    /// and request messages the check, then what samod does with it (receive the sync message
    /// into the case, empty or not, then answer).
    pub fn relay_frame(frame: &[u8]) {
        let Ok(message) = Message::decode(frame) else {
            return;
        };
        let (Message::Sync { data, .. } | Message::Request { data, .. }) = message else {
            return;
        };
        let Ok(sync) = check_sync_message(&data) else {
            return;
        };
        for mut doc in [automerge::Automerge::new(), held()] {
            let mut state = automerge::sync::State::new();
            let _ = doc.receive_sync_message(&mut state, sync.clone());
            let _ = doc.generate_sync_message(&mut state);
        }
    }

    /// A frame from the relay as the client core takes it, after the handshake, holding one
    /// case; the frame's document id is pointed at that case so its content is used.
    pub fn client_frame(frame: &[u8]) {
        let mut client = SyncClient::new("p1-fuzz".into(), "device".into());
        let (id, _) = client.create(
            crate::record::CaseRecord::new("Sam")
                .into_document()
                .expect("a new record writes"),
        );
        client.connected();
        let peer = Message::Peer {
            sender_id: "relay".into(),
            target_id: "p1-fuzz".into(),
            selected_protocol_version: "1".into(),
            metadata: None,
        }
        .encode();
        client.receive(&peer).expect("handshake");
        let frame = match Message::decode(frame) {
            Ok(Message::Sync {
                sender_id,
                target_id,
                data,
                ..
            }) => Message::Sync {
                sender_id,
                target_id,
                document_id: id,
                data,
            }
            .encode(),
            _ => frame.to_vec(),
        };
        let _ = client.receive(&frame);
        let _ = client.unsent_changes(&id);
    }

    /// A document read as a case record, as the app and the relay's consent check read it.
    pub fn case_record(data: &[u8]) {
        if check_chunks(data).is_err() {
            return;
        }
        let Ok(doc) = automerge::Automerge::load(data) else {
            return;
        };
        let _ = crate::record::CaseRecord::from_document(&doc);
        let _ = crate::record::child_name(&doc);
        let _ = autosurgeon::hydrate_prop::<_, Option<crate::record::consent::Consent>, _, _>(
            &doc,
            automerge::ROOT,
            "consent",
        );
    }

    /// Every target, on one input (for the regression test).
    pub fn all(data: &[u8]) {
        chunks(data);
        relay_frame(data);
        client_frame(data);
        case_record(data);
    }
}

/// Known bad inputs, for tests here and in the relay.
pub mod fixtures {
    /// The 11 bytes of column data from the reliability issue, framed as a document chunk
    /// with a correct checksum.
    pub const POISONED_COLUMNS: [u8; 11] = [
        0x01, 0x00, 0x00, 0x01, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x2f,
    ];

    /// The poisoned document chunk: automerge 0.12 panics loading it.
    pub fn poisoned_document_chunk() -> Vec<u8> {
        chunk(0, &POISONED_COLUMNS)
    }

    /// Frames `body` as an Automerge chunk of `kind`: the magic bytes `85 6f 4a 83`, the first
    /// 4 bytes of SHA-256 over what follows (type, length as LEB128, body), then that.
    pub fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut len = Vec::new();
        let mut n = body.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                len.push(byte);
                break;
            }
            len.push(byte | 0x80);
        }
        let mut hashed = vec![kind];
        hashed.extend(&len);
        hashed.extend(body);
        let sum = Sha256::digest(&hashed);
        let mut out = vec![0x85, 0x6f, 0x4a, 0x83];
        out.extend(&sum[..4]);
        out.extend(hashed);
        out
    }
}
