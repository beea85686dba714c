//! IndexedDB round trips through rexie, in headless Chromium: the chunks and sync state the
//! client core writes come back as the same case, and compaction leaves a loadable store.
#![cfg(target_arch = "wasm32")]

use app::storage::{CaseSummary, Store, Write};
use shared::case::{Case, Field};
use shared::storage_key::StorageKey;
use shared::sync::{Effect, SyncClient};
use shared::DocumentId;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh_store() -> Store {
    Store::open_named(&format!("test-{}", DocumentId::random()))
        .await
        .expect("IndexedDB opens")
}

async fn apply(store: &Store, effects: Vec<Effect>) {
    let writes: Vec<Write> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Put { key, data } => Some(Write::Put(key, data)),
            Effect::Delete { key } => Some(Write::Delete(key)),
            _ => None,
        })
        .collect();
    store.apply(&writes).await.expect("stored");
}

#[wasm_bindgen_test]
async fn chunks_round_trip_and_compact() {
    let store = fresh_store().await;
    let mut client = SyncClient::new("p".into(), "s".into());
    let (id, effects) = client.create(Case::new("Sam").into_document().unwrap());
    apply(&store, effects).await;
    for i in 0..15 {
        Field::Concerns
            .write(
                client.document_mut(&id).unwrap(),
                &format!("Note {i}: seen at home."),
            )
            .unwrap();
        let effects = client.flush(&id);
        apply(&store, effects).await;
    }
    let stored = store.load_document(&id).await.unwrap();
    assert!(stored.iter().all(|(k, _)| k.document() == Some(id)));
    let chunks = stored.iter().filter(|(k, _)| k.is_chunk()).count();
    assert!(
        (1..=10).contains(&chunks),
        "{chunks} chunks after compaction"
    );

    let mut reloaded = SyncClient::new("q".into(), "s".into());
    assert_eq!(reloaded.load(id, stored), 0);
    let case = Case::from_document(reloaded.document(&id).unwrap()).unwrap();
    assert_eq!(case.concerns.as_str(), "Note 14: seen at home.");
    assert_eq!(case.child_name, "Sam");

    // Another document's keys never leak into this one's range.
    let (other, effects) = client.create(Case::new("Alex").into_document().unwrap());
    apply(&store, effects).await;
    assert!(store
        .load_document(&id)
        .await
        .unwrap()
        .iter()
        .all(|(k, _)| k.document() == Some(id)));
    assert!(!store.load_document(&other).await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn sync_state_storage_id_and_summaries_persist() {
    let store = fresh_store().await;
    let id = DocumentId::random();
    let key = StorageKey::sync_state(&id, "relay-storage");
    store
        .apply(&[Write::Put(key.clone(), vec![0x43, 0])])
        .await
        .unwrap();
    let back = store.load_document(&id).await.unwrap();
    assert_eq!(back, vec![(key.clone(), vec![0x43, 0])]);
    store.apply(&[Write::Delete(key)]).await.unwrap();
    assert!(store.load_document(&id).await.unwrap().is_empty());

    let first = store.storage_id().await.unwrap();
    assert_eq!(store.storage_id().await.unwrap(), first);

    // A summary with its caseload row round-trips.
    let row = shared::caseload::CaseRow::from_record(&shared::record::CaseRecord::new("Zoe"));
    let zoe = CaseSummary {
        id,
        child_name: "Zoe".into(),
        row: Some(row),
    };
    store.put_summary(&zoe).await.unwrap();
    assert_eq!(store.list_cases().await.unwrap(), vec![zoe]);
}
