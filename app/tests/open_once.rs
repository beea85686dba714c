//! Opening a case, in headless Chromium with the device's real IndexedDB: when two parts of
//! the app open the same case at once (the case screen while the caseload's rows are being
//! worked out), it is read from the device and decoded once, and both get it.
#![cfg(target_arch = "wasm32")]

use app::storage::{Store, Write};
use app::sync::Repo;
use shared::record::CaseRecord;
use shared::sync::{Effect, SyncClient};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// How many times a case has been read from the device ([`Repo::open`] marks each).
fn reads() -> u32 {
    let performance = web_sys::window().unwrap().performance().unwrap();
    performance
        .get_entries_by_name("case-read-from-disk")
        .length()
}

#[wasm_bindgen_test]
async fn a_case_opened_twice_at_once_is_read_from_the_device_once() {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    // A case kept on this device earlier.
    let store = Store::open().await.expect("IndexedDB opens");
    let mut client = SyncClient::new("p".into(), "s".into());
    let (id, effects) = client.create(CaseRecord::new("Sam").into_document().unwrap());
    let writes: Vec<Write> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Put { key, data } => Some(Write::Put(key, data)),
            _ => None,
        })
        .collect();
    store.apply(&writes).await.expect("stored");

    let repo = Repo::start().await.expect("the app's store opens");
    let before = reads();
    let (first, second) = futures::join!(repo.open(id), repo.open(id));
    first.expect("the first opens it");
    second.expect("the second gets it too");
    let name = repo.with_doc(&id, |doc| shared::record::child_name(&*doc));
    assert_eq!(name.flatten().as_deref(), Some("Sam"));
    assert_eq!(reads() - before, 1, "read from the device once");

    // Once held, opening it again reads nothing more.
    repo.open(id).await.expect("opens again");
    assert_eq!(reads() - before, 1);
}
