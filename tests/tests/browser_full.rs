//! A full browser: the device's storage for TAC Planner runs out while someone types offline
//! (Chromium's quota for the app's origin set to 50 MB over DevTools, then filled with another
//! database in the same origin). The app says plainly that the changes are not saved on this device, keeps them in the open tab,
//! and keeps trying; when space returns (that database is deleted) it saves them by itself, and they are there after the
//! page reloads, still offline. (Whether the browser granted the app's request to keep its
//! storage is printed, not asserted: headless Chromium decides by its own rules.)

use e2e::accounts::{Api, COUNCIL};
use e2e::{devtools, eventually, find, js, screenshot, sign_in, Driver, Relay};
use serde_json::json;

const TEXTAREA: &str = "#field-worriedabout";
/// The origin's storage quota for this test, in bytes (the app and its offline copy use ~4 MB).
const QUOTA: u64 = 50_000_000;

/// Fills the origin's quota with a database of its own, in ever smaller pieces until even a
/// small write is refused; returns how many bytes it took.
async fn fill(b: &fantoccini::Client) -> String {
    let script = "const done = arguments[0]; (async () => {\
        const db = await new Promise((res, rej) => { const r = indexedDB.open('ballast', 1);\
          r.onupgradeneeded = () => r.result.createObjectStore('s'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });\
        let key = 0, total = 0, refused = '';\
        const put = (key, size) => new Promise((res) => { const tx = db.transaction('s', 'readwrite');\
          tx.objectStore('s').put(new Uint8Array(size).map(() => Math.random() * 255), key);\
          tx.oncomplete = () => res(true); tx.onabort = () => { refused = String(tx.error && tx.error.name); res(false); }; });\
        for (const size of [1000000, 64000, 4000, 256, 16]) {\
          for (let i = 0; i < 200 && await put(key++, size); i++) { total += size; }\
        }\
        db.close(); done(total + ' bytes, then ' + refused);\
      })();";
    let v = b.execute_async(script, vec![]).await.expect("filling runs");
    v.as_str().unwrap_or_default().to_string()
}

async fn status(b: &fantoccini::Client) -> String {
    js(b, "(() => { const s = document.querySelector('[data-testid=sync-status]').dataset; return s.link + ' ' + s.unsent; })()").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_browser_keeps_edits_in_the_tab_says_so_and_saves_them_when_space_returns() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    // Chromium applies a quota override to the origin's storage opened after it, so it is set
    // before the app first runs.
    let origin = relay.url();
    devtools(
        &b,
        "Storage.overrideQuotaForOrigin",
        json!({ "origin": origin, "quotaSize": QUOTA }),
    )
    .await;
    Api::admin(&relay).add_practitioner("Alex Adams", "alex@council.test", COUNCIL);
    sign_in(&b, &relay, "alex@council.test").await;
    let link = e2e::start_case(&b, "Sam Smith").await;
    b.goto(&format!("{link}/assessment")).await.unwrap();
    find(&b, TEXTAREA)
        .await
        .send_keys("Saved before. ")
        .await
        .unwrap();
    eventually(30, "everything shared", || async {
        (status(&b).await == "online 0").then_some(())
    })
    .await;

    // Offline, so this device is the only place an edit can be kept.
    relay.stop();
    eventually(30, "offline", || async {
        status(&b).await.starts_with("offline").then_some(())
    })
    .await;
    let filled = fill(&b).await;
    eprintln!("browser-full: filled the quota with {filled}");

    find(&b, TEXTAREA)
        .await
        .send_keys("Typed while full. ")
        .await
        .unwrap();
    let said = eventually(30, "the storage problem message", || async {
        let p = js(
            &b,
            "document.querySelector('[data-testid=storage-problem]')?.innerText",
        )
        .await;
        (!p.is_empty()).then_some(p)
    })
    .await;
    assert!(said.contains("run out of space"), "{said}");
    let bar = js(
        &b,
        "document.querySelector('[data-testid=sync-status]').innerText",
    )
    .await;
    assert!(bar.contains("Not saved on this device"), "{bar}");
    screenshot(&b, "60-browser-full").await;
    // Still in the tab, and typing goes on.
    find(&b, TEXTAREA)
        .await
        .send_keys("And more. ")
        .await
        .unwrap();
    let typed = js(&b, &format!("document.querySelector('{TEXTAREA}').value")).await;
    assert_eq!(typed, "Saved before. Typed while full. And more. ");

    // Space returns: the app saves what it kept by itself (it retries every few seconds).
    b.execute_async(
        "const done = arguments[0]; const r = indexedDB.deleteDatabase('ballast'); r.onsuccess = () => done('deleted'); r.onerror = () => done('not deleted');",
        vec![],
    )
    .await
    .unwrap();
    eventually(30, "the problem to clear", || async {
        let p = js(
            &b,
            "document.querySelector('[data-testid=storage-problem]') ? 'y' : ''",
        )
        .await;
        p.is_empty().then_some(())
    })
    .await;
    let bar = js(
        &b,
        "document.querySelector('[data-testid=sync-status]').innerText",
    )
    .await;
    assert!(bar.contains("Saved on this device"), "{bar}");

    // Reloaded, still offline: everything typed is on this device.
    b.refresh().await.unwrap();
    let kept = eventually(30, "the case after reloading", || async {
        let v = js(&b, &format!("document.querySelector('{TEXTAREA}')?.value")).await;
        (!v.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(kept, "Saved before. Typed while full. And more. ");
    // Persistent storage is the browser's to grant; printed for the note.
    let asked = b
        .execute_async(
            "const done = arguments[0]; navigator.storage.persisted().then(p => done(String(p)))",
            vec![],
        )
        .await
        .unwrap();
    eprintln!("browser-full: persistent storage granted: {asked}");
}
