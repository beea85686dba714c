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

    // The poisoned chunk, under a key that sorts first among the case's chunks, so it is
    // decoded into an empty document, where automerge panics.
    let chunk = shared::untrusted::fixtures::poisoned_document_chunk();
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
    screenshot(&b, "damaged-case").await;
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
    screenshot(&b, "damaged-case-other-case-opens").await;
}
