//! Two professionals, two browsers, one case: live sync, offline edits in the same text,
//! convergence when the relay returns, and an offline reload from IndexedDB.

use e2e::accounts::{Api, COUNCIL};
use e2e::{eventually, find, js, open_cards, screenshot, sign_in, Driver, Relay};
use fantoccini::Client;

const TEXTAREA: &str = "#field-worriedabout";
/// The first person recorded (the child) is where the school or setting goes.
const SETTING: &str = "[id^=field-person-][id$=-setting]";

async fn status(b: &Client) -> (String, String) {
    (
        js(
            b,
            "document.querySelector('[data-testid=sync-status]')?.dataset.link",
        )
        .await,
        js(
            b,
            "document.querySelector('[data-testid=sync-status]')?.dataset.unsent",
        )
        .await,
    )
}

async fn wait_synced(b: &Client, who: &str) {
    eventually(30, &format!("{who} online with nothing unsent"), || async {
        (status(b).await == ("online".into(), "0".into())).then_some(())
    })
    .await;
}

async fn wait_offline(b: &Client, who: &str) {
    eventually(20, &format!("{who} offline"), || async {
        (status(b).await.0 == "offline").then_some(())
    })
    .await;
}

async fn text_of(b: &Client) -> String {
    js(b, &format!("document.querySelector('{TEXTAREA}')?.value")).await
}

/// Types at the given caret position with real key events.
async fn type_at(b: &Client, caret: &str, keys: &str) {
    let area = find(b, TEXTAREA).await;
    b.execute(
        &format!("const t = document.querySelector('{TEXTAREA}'); t.focus(); const p = {caret}; t.setSelectionRange(p, p);"),
        vec![],
    )
    .await
    .expect("place caret");
    area.send_keys(keys).await.expect("typing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_share_a_case_live_offline_and_after_reload() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let a = driver.browser().await;
    let b = driver.browser().await;
    // Two early help workers in the council's team.
    let admin = Api::admin(&relay);
    admin.add_practitioner("Alex Adams", "alex@council.test", COUNCIL);
    let bea = admin.add_practitioner("Bea Brown", "bea@council.test", COUNCIL);
    sign_in(&a, &relay, "alex@council.test").await;
    sign_in(&b, &relay, "bea@council.test").await;

    // A starts a case and records something.
    find(&a, "#new-child-name")
        .await
        .send_keys("Sam Smith")
        .await
        .unwrap();
    screenshot(&a, "01-case-list").await;
    find(&a, "button[type=submit]").await.click().await.unwrap();
    let title = find(&a, "[data-testid=case-title]").await;
    assert_eq!(title.text().await.unwrap(), "Sam Smith");
    open_cards(&a).await;
    find(&a, SETTING)
        .await
        .send_keys("Oak Primary")
        .await
        .unwrap();
    screenshot(&a, "02-family-a").await;

    let link = find(&a, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap();
    assert!(link.starts_with(&relay.url()), "{link}");
    a.goto(&format!("{link}/assessment")).await.unwrap();
    type_at(&a, "0", "Often tired in class.").await;
    wait_synced(&a, "A").await;
    screenshot(&a, "02-assessment-a").await;

    // A, the lead professional, adds B to the team; B opens the link and sees A's words
    // within a few seconds.
    let case_id = link.rsplit('/').next().unwrap();
    let (code, body) = Api::sign_in(&relay, "alex@council.test").call(
        "POST",
        &format!("/api/cases/{case_id}/members"),
        Some(serde_json::json!({ "professional_id": bea })),
    );
    assert_eq!(code, 201, "inviting B: {body}");
    b.goto(&link).await.unwrap();
    find(&b, "[data-testid=case-title]").await;
    open_cards(&b).await;

    eventually(10, "B to see A's setting", || async {
        let setting = js(&b, &format!("document.querySelector('{SETTING}')?.value")).await;
        (setting == "Oak Primary").then_some(())
    })
    .await;
    b.goto(&format!("{link}/assessment")).await.unwrap();
    eventually(10, "B to see A's text", || async {
        (text_of(&b).await == "Often tired in class.").then_some(())
    })
    .await;
    wait_synced(&b, "B").await;
    // Give B's service worker time to cache the shell for the offline reload later.
    eventually(20, "B's service worker to control the page", || async {
        (js(&b, "navigator.serviceWorker.controller ? 'yes' : ''").await == "yes").then_some(())
    })
    .await;
    eventually(20, "B's shell to be cached", || async {
        let n = b
            .execute_async(
                "const done = arguments[0]; caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys())))).then(all => done(String(all.flat().length)));",
                vec![],
            )
            .await
            .ok()?;
        (n.as_str()?.parse::<usize>().ok()? >= 3).then_some(())
    })
    .await;

    // The relay goes away; both keep typing in the same sentence.
    relay.stop();
    wait_offline(&a, "A").await;
    wait_offline(&b, "B").await;
    type_at(&a, "t.value.length", " Falls asleep after lunch.").await;
    type_at(&b, "0", "Mum says: ").await;
    eventually(10, "A's unsent changes to be counted", || async {
        (status(&a).await.1 != "0").then_some(())
    })
    .await;
    screenshot(&a, "03-offline-a").await;
    assert_eq!(
        text_of(&a).await,
        "Often tired in class. Falls asleep after lunch."
    );
    assert_eq!(text_of(&b).await, "Mum says: Often tired in class.");

    // The relay returns: both converge without a reload, and keep both people's words.
    relay.restart();
    let want = "Mum says: Often tired in class. Falls asleep after lunch.";
    for (who, browser) in [("A", &a), ("B", &b)] {
        eventually(40, &format!("{who} to converge"), || async {
            (text_of(browser).await == want).then_some(())
        })
        .await;
        wait_synced(browser, who).await;
    }
    screenshot(&b, "04-converged-b").await;

    // Live: A's caret sits after "Often tired" while B types at the start; A's caret moves
    // with A's words, and A keeps focus.
    let caret = "Mum says: Often tired".encode_utf16().count();
    type_at(&a, &caret.to_string(), "").await;
    type_at(&b, "0", "Today: ").await;
    let want = format!("Today: {want}");
    eventually(10, "A to see B's live edit", || async {
        (text_of(&a).await == want).then_some(())
    })
    .await;
    let (start, end, focused) = (
        js(
            &a,
            "document.querySelector('#field-worriedabout').selectionStart",
        )
        .await,
        js(
            &a,
            "document.querySelector('#field-worriedabout').selectionEnd",
        )
        .await,
        js(&a, "document.activeElement?.id").await,
    );
    let moved = (caret + "Today: ".len()).to_string();
    assert_eq!(
        (start.as_str(), end.as_str(), focused.as_str()),
        (moved.as_str(), moved.as_str(), "field-worriedabout")
    );
    let want = want.as_str();
    wait_synced(&b, "B").await;

    // B reloads with the relay stopped: the case opens from this device.
    relay.stop();
    b.refresh().await.unwrap();
    eventually(20, "B's case to open offline", || async {
        (text_of(&b).await == want).then_some(())
    })
    .await;
    assert_eq!(
        find(&b, "[data-testid=case-title]")
            .await
            .text()
            .await
            .unwrap(),
        "Sam Smith"
    );
    assert_eq!(status(&b).await.0, "offline");
    screenshot(&b, "05-offline-reload-b").await;

    // And the case list on B, offline, shows it.
    b.goto(&relay.url()).await.unwrap();
    let list = find(&b, "[data-testid=case-list]")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Sam Smith"), "{list}");

    a.close().await.unwrap();
    b.close().await.unwrap();
}
