//! Regression inputs for the untrusted-bytes guard: every crasher the fuzz targets found (kept
//! in `tests/fixtures/untrusted/`), the reliability issue's poisoned chunk in every framing,
//! and hand-made damage to real data, through every path the fuzz targets cover. None may
//! panic; the poisoned chunk must be refused on each side.

use automerge::transaction::Transactable;
use shared::protocol::Message;
use shared::sync::SyncClient;
use shared::untrusted::{self, exercise, fixtures};
use shared::DocumentId;

fn sync_message(chunks: Vec<Vec<u8>>) -> Vec<u8> {
    automerge::sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: chunks.into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

fn frame(document_id: DocumentId, data: Vec<u8>) -> Vec<u8> {
    Message::Sync {
        sender_id: "relay".into(),
        target_id: "p1-x".into(),
        document_id,
        data,
    }
    .encode()
}

/// Every stored crasher, and how many there are (the note reports it). Memory bombs
/// (`*-oom-*`) are left out: checked in this process they would take gigabytes before failing,
/// which is why the relay checks in memory-limited workers; the relay's security tests replay
/// them through a worker.
fn kept() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/untrusted");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_none_or(|x| x != "md"))
                .filter(|e| !e.file_name().to_string_lossy().contains("-oom-"))
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn kept_crashers_and_damaged_inputs_never_panic() {
    std::panic::set_hook(Box::new(|_| {}));
    let mut inputs: Vec<Vec<u8>> = kept().into_iter().map(|(_, d)| d).collect();
    let poisoned = fixtures::poisoned_document_chunk();
    let mut doc = shared::record::CaseRecord::new("Sam")
        .into_document()
        .unwrap();
    doc.put(automerge::ROOT, "probe", "x").unwrap();
    let saved = doc.save();
    inputs.push(poisoned.clone());
    inputs.push(sync_message(vec![poisoned.clone()]));
    inputs.push(frame(
        DocumentId::random(),
        sync_message(vec![poisoned.clone()]),
    ));
    inputs.push(saved.clone());
    // Every single-byte corruption and every truncation of a real document.
    for i in 0..saved.len() {
        let mut bad = saved.clone();
        bad[i] ^= 0x5a;
        inputs.push(bad);
        inputs.push(saved[..i].to_vec());
    }
    let count = inputs.len();
    let caught = std::panic::catch_unwind(|| {
        for input in &inputs {
            exercise::all(input);
        }
    });
    let _ = std::panic::take_hook();
    assert!(caught.is_ok(), "an input escaped the guard");
    eprintln!(
        "untrusted inputs: {count} tried, {} kept crashers",
        kept().len()
    );
}

#[test]
fn the_poisoned_chunk_is_refused_by_the_client_and_the_case_is_unchanged() {
    let mut client = SyncClient::new("p1-x".into(), "device".into());
    let (id, _) = client.create(
        shared::record::CaseRecord::new("Sam")
            .into_document()
            .unwrap(),
    );
    client.connected();
    let peer = Message::Peer {
        sender_id: "relay".into(),
        target_id: "p1-x".into(),
        selected_protocol_version: "1".into(),
        metadata: None,
    }
    .encode();
    client.receive(&peer).unwrap();
    let before = client.document_mut(&id).unwrap().get_heads();
    let bad = frame(id, sync_message(vec![fixtures::poisoned_document_chunk()]));
    let err = client.receive(&bad).unwrap_err();
    assert!(err.to_string().contains("could not be applied"), "{err}");
    assert_eq!(client.document_mut(&id).unwrap().get_heads(), before);

    // A damaged stored chunk: the case loads without it and says one chunk was unreadable.
    let mut stored: Vec<_> = vec![(
        shared::storage_key::StorageKey::incremental(&id, &before[0]),
        fixtures::poisoned_document_chunk(),
    )];
    let mut fresh = SyncClient::new("p1-x".into(), "device".into());
    assert_eq!(fresh.load(id, std::mem::take(&mut stored)), 1);
    assert!(untrusted::check_chunks(&fixtures::poisoned_document_chunk()).is_err());
}
