//! The first download: the caseload and sign-in come first, and the rest of the app (the sync
//! engine, the case screens) follows as a separate file (app/src/later.rs, scripts/split.mjs);
//! later visits run the whole app as one module, which the service worker keeps.
//! Real relay on 127.0.0.1, real app in headless Chromium.

use e2e::{
    app_files, click_button, devtools, eventually, find, js, no_panic_noted, repo_root, screenshot,
    sign_in, start_case, text_of, type_into, whole_app_files, Driver, Relay,
};
use fantoccini::Locator;
use serde_json::json;

/// The later part, and the service worker (which would otherwise fetch it for offline use
/// behind the page's back).
const LATER_PARTS: [&str; 2] = ["*/app-split-*", "*/sw.js"];

/// The caseload issue's budget for what the browser downloads before the first screen shows,
/// in bytes as the relay serves them (the build's brotli copies).
const FIRST_DOWNLOAD_BUDGET: u64 = 600_000;

const NOT_LOADED: &str =
    "Part of TAC Planner could not be loaded. Check your connection and reload the page.";

#[tokio::test]
async fn the_caseload_works_before_the_rest_of_the_app_arrives_and_all_of_it_once_it_does() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    devtools(&b, "Network.enable", json!({})).await;
    devtools(&b, "Network.setBlockedURLs", json!({ "urls": LATER_PARTS })).await;

    // Signing in and the caseload need nothing more than the first download.
    sign_in(&b, &relay, e2e::accounts::ADMIN_EMAIL).await;
    find(&b, "#new-child-name").await;
    assert!(
        text_of(&b, "h1").await.contains("Your cases"),
        "the caseload shows"
    );
    // Not connected without the sync engine; said as when offline.
    eventually(10, "the status bar to say offline", || async {
        text_of(&b, "[data-testid=sync-status]")
            .await
            .contains("Offline")
            .then_some(())
    })
    .await;

    // What needs the rest says so plainly and loses nothing.
    type_into(&b, "new-child-name", "Lily Evans").await;
    click_button(&b, "Start case").await;
    eventually(10, "starting a case to say it could not load", || async {
        (text_of(&b, "#new-child-name-error")
            .await
            .contains(NOT_LOADED))
        .then_some(())
    })
    .await;
    assert_eq!(
        js(&b, "document.querySelector('#new-child-name').value").await,
        "Lily Evans",
        "what was typed stays"
    );
    b.find(Locator::LinkText("Manage accounts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(10, "the screen to say it could not load", || async {
        (text_of(&b, "[data-testid=not-loaded]")
            .await
            .contains(NOT_LOADED))
        .then_some(())
    })
    .await;
    screenshot(&b, "99-part-not-loaded").await;
    // After three tries (5 s apart) the person is told why nothing is shared.
    eventually(30, "a notice that changes cannot be shared yet", || async {
        (text_of(&b, "[data-testid=notices]")
            .await
            .contains(&format!(
                "Your changes cannot be shared from this device yet. {NOT_LOADED}"
            )))
        .then_some(())
    })
    .await;

    // Once the rest can be fetched, the sync engine arrives by itself (tried every 5 s) and
    // every screen works, without reloading the page.
    devtools(&b, "Network.setBlockedURLs", json!({ "urls": [] })).await;
    eventually(20, "the sync engine to arrive and connect", || async {
        text_of(&b, "[data-testid=sync-status]")
            .await
            .contains("Online")
            .then_some(())
    })
    .await;
    start_case_from_caseload(&b, "Amira Khan").await;
    no_panic_noted(&b, "starting a case once the rest arrived").await;

    // The service worker, once it runs the pages, keeps the whole app as one module (after
    // the first visit, so as not to slow it); the next visit runs that, with no parts to
    // fetch, and it works the same.
    b.refresh().await.unwrap();
    eventually(20, "the service worker to run the page", || async {
        (js(&b, "navigator.serviceWorker.controller ? 'y' : ''").await == "y").then_some(())
    })
    .await;
    b.refresh().await.unwrap();
    let html = std::fs::read_to_string(repo_root().join("dist/index.html")).unwrap();
    let whole = whole_app_files(&html);
    assert_eq!(whole.len(), 2, "the whole app's JS and wasm: {whole:?}");
    eventually(30, "the service worker to keep the whole app", || async {
        // WebDriver waits for a promise the script returns.
        let held = b
            .execute(
                "return Promise.all(arguments[0].map(u => caches.match(u))).then(r => r.every(Boolean))",
                vec![json!(whole)],
            )
            .await
            .expect("script runs");
        (held == json!(true)).then_some(())
    })
    .await;
    b.refresh().await.unwrap();
    // Still on the case opened above.
    find(&b, "[data-testid=case-title]").await;
    let loaded = fetched_by_page(&b).await;
    assert!(loaded.contains(&whole[1]), "the whole app ran: {loaded}");
    let (first_part, _) = app_files(&html);
    for part in first_part.iter().filter(|f| !f.ends_with(".css")) {
        assert!(
            !loaded.contains(part.as_str()),
            "{part} was fetched: {loaded}"
        );
    }
    assert!(
        !loaded.contains("app-split-"),
        "no part was fetched: {loaded}"
    );
    start_case_from_caseload(&b, "Noor Ali").await;
    no_panic_noted(&b, "the whole app").await;

    // A whole app that is not what it should be (say the relay's page, stored under its name
    // during a release) is forgotten, and the parts run instead.
    let stored = b
        .execute(
            "return caches.open('tac-planner-shell-v1').then(c => c.put(arguments[0], new Response('<!DOCTYPE html>', { headers: { 'content-type': 'text/html' } }))).then(() => true)",
            vec![json!(whole[1])],
        )
        .await
        .expect("script runs");
    assert_eq!(stored, json!(true));
    b.refresh().await.unwrap();
    find(&b, "[data-testid=case-title]").await;
    let loaded = fetched_by_page(&b).await;
    let first_wasm = first_part.iter().find(|f| f.ends_with("_bg.wasm")).unwrap();
    assert!(
        loaded.contains(first_wasm.as_str()),
        "the parts ran: {loaded}"
    );
    eventually(10, "the bad copy to be forgotten", || async {
        let kept = b
            .execute(
                "return caches.match(arguments[0]).then(r => r ? r.headers.get('content-type') : 'gone')",
                vec![json!(whole[1])],
            )
            .await
            .expect("script runs");
        (kept != json!("text/html")).then_some(())
    })
    .await;
    no_panic_noted(&b, "starting after the bad copy").await;
}

/// From the caseload (its header link), starts a case and waits for it to open.
async fn start_case_from_caseload(b: &fantoccini::Client, child: &str) {
    b.find(Locator::Css("a.govuk-header__service-name"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(b, "#new-child-name").await;
    let link = start_case(b, child).await;
    assert!(link.contains("/case/"), "the case opened: {link}");
    find(b, "[data-testid=case-title]").await;
}

/// The addresses this page has fetched (through the service worker or not).
async fn fetched_by_page(b: &fantoccini::Client) -> String {
    js(
        b,
        "performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).join(' ')",
    )
    .await
}

/// What index.html loads first fits the budget, and the later part is the bigger share (so
/// the sync engine has not slipped back into the first part).
#[test]
fn the_first_download_fits_the_budget() {
    let dist = repo_root().join("dist");
    let html = std::fs::read_to_string(dist.join("index.html"))
        .expect("dist/index.html: run `trunk build --release` (scripts/test.sh does)");
    let (first, later) = app_files(&html);
    let served = |files: &[String]| -> u64 {
        files
            .iter()
            .map(|f| {
                let br = dist.join(format!("{}.br", f.trim_start_matches('/')));
                std::fs::metadata(&br)
                    .unwrap_or_else(|e| panic!("{}: {e}", br.display()))
                    .len()
            })
            .sum()
    };
    assert!(first.iter().any(|f| f.ends_with("_bg.wasm")), "{first:?}");
    assert_eq!(later.len(), 1, "the rest of the app: {later:?}");
    let (first_bytes, later_bytes) = (served(&first), served(&later));
    assert!(
        first_bytes <= FIRST_DOWNLOAD_BUDGET,
        "the first download is {first_bytes} bytes, over {FIRST_DOWNLOAD_BUDGET}"
    );
    assert!(
        later_bytes > 2 * first_bytes,
        "the later part ({later_bytes} bytes) holds most of the app ({first_bytes} bytes first)"
    );
    // The whole app, for later visits, holds everything the two parts do.
    let whole = whole_app_files(&html);
    assert_eq!(whole.len(), 2, "the whole app's JS and wasm: {whole:?}");
    assert!(
        served(&whole) > later_bytes,
        "the whole app ({} bytes) holds the later part ({later_bytes} bytes) and more",
        served(&whole)
    );
}
