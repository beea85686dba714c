//! Who has looked at a child's record: opening a case in Chromium goes in its audit trail,
//! and opening it offline is reported when the browser is back online, with the time it was
//! opened.

use e2e::accounts::{Api, COUNCIL};
use e2e::{eventually, find, js, sign_in, Driver, Relay};
use shared::record::CaseRecord;

fn views(admin: &Api, case: &str) -> Vec<serde_json::Value> {
    let (status, rows) = admin.call("GET", &format!("/api/cases/{case}/audit"), None);
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "case_viewed")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_case_online_or_offline_is_on_its_record() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    let lena_id = admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let lena = Api::sign_in(&relay, "lena@council.test");
    let (_, id, _desk) = e2e::case_from_another_device(
        &relay,
        &lena,
        CaseRecord::new("Sam Smith").into_document().unwrap(),
    )
    .await;
    let case = id.to_string();
    let link = format!("{}/case/{id}", relay.url());

    let b = driver.browser().await;
    sign_in(&b, &relay, "lena@council.test").await;
    b.goto(&link).await.unwrap();
    find(&b, "[data-testid=case-title]").await;
    let online = eventually(20, "the view on the record", || async {
        let v = views(&admin, &case);
        (v.len() == 1).then_some(v)
    })
    .await;
    assert_eq!(online[0]["actor_professional_id"], lena_id);
    assert_eq!(online[0]["outcome"], "success");
    // Moving between sections is the same look, not another.
    js(
        &b,
        "(document.querySelector('nav a[href$=\"/plan\"]').click(), 'ok')",
    )
    .await;
    e2e::wait_for_text(&b, "h2.app-section-title", "Plan").await;

    // Offline, she opens it again (from a new page load, served by the app's service worker).
    relay.stop();
    b.goto("about:blank").await.unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.goto(&link).await.unwrap();
    find(&b, "[data-testid=case-title]").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    relay.restart();
    let admin = Api::admin(&relay);
    // Reported once the app is back online (its reconnect backs off to at most 30 s).
    let mut both = Vec::new();
    for _ in 0..90 {
        both = views(&admin, &case);
        if both.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let kept = js(&b, "localStorage.getItem('tac-case-views')").await;
    let link = js(
        &b,
        "document.querySelector('[data-testid=sync-status]').dataset.link",
    )
    .await;
    assert_eq!(
        both.len(),
        2,
        "kept on the device: {kept}; link: {link}; {both:#?}"
    );
    let offline = &both[1];
    let opened = offline["occurred_at"].as_i64().unwrap() / 1000;
    let recorded = offline["at"].as_i64().unwrap();
    assert!(opened >= before - 1, "{offline}");
    assert!(
        recorded >= opened + 2,
        "reported later than it happened: {offline}"
    );
}
