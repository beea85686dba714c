//! A damaged case on the device: a stored chunk that makes automerge 0.12 panic (the
//! reliability issue's poisoned document chunk) is put in IndexedDB under one case. Opening
//! that case must not kill the app: the case is set aside with a clear message naming it,
//! nothing is deleted, and the other case on the device opens as before.

use e2e::accounts::{Api, COUNCIL};
use e2e::{eventually, find, js, screenshot, sign_in, Driver, Relay};
use fantoccini::Client;

async fn start_case(b: &Client, relay: &Relay, name: &str) -> String {
    b.goto(&relay.url()).await.unwrap();
    find(b, "#new-child-name")
        .await
        .send_keys(name)
        .await
        .unwrap();
    find(b, "button[type=submit]").await.click().await.unwrap();
    find(b, "[data-testid=case-title]").await;
    find(b, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_case_is_set_aside_and_the_others_keep_working() {
    set_aside_with(
        shared::untrusted::fixtures::poisoned_document_chunk(),
        "damaged-case",
    )
    .await;
}

/// Memory bombs the fuzzer found: 80 bytes that ask automerge for more than 15 GiB at once,
/// and 62 bytes that make it grow past 2 GiB bit by bit. In the browser neither may take the
/// app down for good: the case is set aside as for a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_stored_for_a_case_is_set_aside_too() {
    for (name, shot) in [
        (
            "chunks-oom-b96481c7d237a3921857de0ef0bf82a71e61cbd8",
            "damaged-case-big-ask",
        ),
        (
            "chunks-oom-15065aadb6d2514c39d8ba9796070b72668ebbfe",
            "damaged-case-slow-growth",
        ),
    ] {
        let path = format!(
            "{}/../shared/tests/fixtures/untrusted/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        set_aside_with(std::fs::read(path).unwrap(), shot).await;
    }
}

/// Stores `chunk` under one of two cases, then opens that case afresh: it is set aside with a
/// clear message naming it, nothing is deleted, and the other case opens as before.
async fn set_aside_with(chunk: Vec<u8>, shot: &str) {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    Api::admin(&relay).add_practitioner("Alex Adams", "alex@council.test", COUNCIL);
    sign_in(&b, &relay, "alex@council.test").await;
    let damaged = start_case(&b, &relay, "Sam Smith").await;
    let healthy = start_case(&b, &relay, "Ava Jones").await;
    let damaged_id = damaged.rsplit('/').next().unwrap().to_string();
    // Give the app a moment to store both cases.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // The chunk, under a key that sorts first among the case's chunks, so it is decoded into
    // an empty document, where automerge fails on it.
    let key = format!("{damaged_id}/incremental/{}", "0".repeat(64));
    let stored = b
        .execute_async(
            "const [key, bytes, done] = arguments;
             const open = indexedDB.open('tac-planner');
             open.onsuccess = () => {
               const tx = open.result.transaction('chunks', 'readwrite');
               tx.objectStore('chunks').put(new Uint8Array(bytes), key);
               tx.oncomplete = () => { open.result.close(); done('stored'); };
               tx.onerror = () => done('failed');
             };
             open.onerror = () => done('failed');",
            vec![serde_json::json!(key), serde_json::json!(chunk)],
        )
        .await
        .unwrap();
    assert_eq!(stored.as_str(), Some("stored"));

    // A fresh start on the damaged case: the app sets it aside and says so.
    b.goto(&damaged).await.unwrap();
    let message = eventually(30, "the damaged-case message", || async {
        let text = js(
            &b,
            "document.querySelector('[data-testid=case-open-error]')?.innerText",
        )
        .await;
        (!text.is_empty()).then_some(text)
    })
    .await;
    screenshot(&b, shot).await;
    let short: String = damaged_id
        .trim_start_matches("automerge:")
        .chars()
        .take(8)
        .collect();
    assert!(
        message.starts_with("Sam Smith's case cannot be opened on this device")
            && message.contains(&short),
        "{message}"
    );
    assert!(message.contains("nothing has been deleted"), "{message}");
    find(&b, "[data-testid=try-again]").await;
    // Nothing was deleted: the chunk is still stored.
    let still = b
        .execute_async(
            "const [key, done] = arguments;
             const open = indexedDB.open('tac-planner');
             open.onsuccess = () => {
               const get = open.result.transaction('chunks').objectStore('chunks').get(key);
               get.onsuccess = () => { open.result.close(); done(get.result ? 'kept' : 'gone'); };
             };",
            vec![serde_json::json!(key)],
        )
        .await
        .unwrap();
    assert_eq!(still.as_str(), Some("kept"));

    // The other case opens as before.
    b.goto(&healthy).await.unwrap();
    let title = find(&b, "[data-testid=case-title]").await;
    assert_eq!(title.text().await.unwrap(), "Ava Jones");
    screenshot(&b, &format!("{shot}-other-case-opens")).await;
}
