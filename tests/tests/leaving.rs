//! Leaving a case's team in Chromium: Bob types in a case while offline, and while he is away
//! Lena removes him from the team. When his browser is back, his words reach Lena, then the
//! case leaves his caseload and his browser's storage, and he is told why. The same when he
//! leaves the service altogether (his account closed): then his browser is cleared. If he is
//! dismissed (signed out everywhere too), his browser is cleared without taking anything.

use e2e::accounts::{Api, COUNCIL};
use e2e::bench::Conn;
use e2e::{
    eventually, find, js, screenshot, sign_in, synced, type_into, wait_for_text, Driver, Relay,
};
use fantoccini::Client;
use serde_json::json;
use shared::record::CaseRecord;

const WORDS: &str = "Sam said he likes his new teacher.";

/// How many keys this browser's storage holds for the case (chunks and sync states), and
/// whether its summary is there: "<keys> <summary>".
async fn stored_for(b: &Client, case: &str) -> String {
    let v = b
        .execute_async(
            "const [case_id, done] = arguments; const open = indexedDB.open('tac-planner');\
             open.onsuccess = () => { const db = open.result;\
               const tx = db.transaction(['chunks', 'cases'], 'readonly');\
               const keys = tx.objectStore('chunks').getAllKeys();\
               const summary = tx.objectStore('cases').getKey(case_id);\
               tx.oncomplete = () => { db.close();\
                 done(keys.result.filter(k => String(k).startsWith(case_id)).length + ' ' + (summary.result !== undefined)); }; };\
             open.onerror = () => done('error');",
            vec![case.into()],
        )
        .await
        .expect("script runs");
    v.as_str().unwrap_or_default().to_string()
}

/// Lena's case for Sam with Bob in its team, on Bob's laptop. While the relay could not be
/// reached he wrote down what Sam said, and closed the app; the relay is back.
struct WroteOffline {
    b: Client,
    bob_id: i64,
    id: shared::DocumentId,
    ws: String,
    desk: Conn,
}

async fn bob_wrote_offline(relay: &mut Relay, driver: &mut Driver) -> WroteOffline {
    let admin = Api::admin(relay);
    admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let bob_id = admin.add_practitioner("Bob Brown", "bob@council.test", COUNCIL);
    let lena = Api::sign_in(relay, "lena@council.test");
    let (ws, id, desk) = e2e::case_from_another_device(
        relay,
        &lena,
        CaseRecord::new("Sam Smith").into_document().unwrap(),
    )
    .await;
    let (status, body) = lena.call(
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(json!({ "professional_id": bob_id })),
    );
    assert_eq!(status, 201, "{body}");

    // Bob has the case on his laptop.
    let b = driver.browser().await;
    sign_in(&b, relay, "bob@council.test").await;
    b.goto(&format!("{}/case/{id}/assessment", relay.url()))
        .await
        .unwrap();
    find(&b, "#field-assessment-childvoice").await;
    synced(&b).await;

    // Offline (the relay cannot be reached), he writes down what Sam said, and closes the app.
    relay.stop();
    type_into(&b, "field-assessment-childvoice", WORDS).await;
    eventually(20, "his words saved on the laptop", || async {
        let unsent = js(
            &b,
            "document.querySelector('[data-testid=sync-status]').dataset.unsent",
        )
        .await;
        (unsent != "0" && !unsent.is_empty()).then_some(())
    })
    .await;
    // Stored on the laptop well before he closes the app (typing is stored within ~0.4 s).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    b.goto("about:blank").await.unwrap();
    relay.restart();
    WroteOffline {
        b,
        bob_id,
        id,
        ws,
        desk,
    }
}

/// Waits for Bob's words to reach Lena's desk.
async fn lena_has_his_words(relay: &Relay, away: WroteOffline) -> Client {
    let WroteOffline {
        b, id, ws, desk, ..
    } = away;
    let lena = Api::sign_in(relay, "lena@council.test");
    let mut desk = Conn::connect_with(desk.client, &ws, Some(&lena))
        .await
        .unwrap();
    let effects = desk.client.resync(&id);
    desk.carry_out(effects).await.unwrap();
    let voice = |c: &mut Conn| {
        c.client
            .document(&id)
            .and_then(|d| CaseRecord::from_document(d).ok())
            .map(|r| r.assessment.child_voice.as_str().to_string())
            .unwrap_or_default()
    };
    let reached = desk.until(|c| voice(c) == WORDS).await;
    assert!(
        reached.is_ok(),
        "Lena has {:?}; audit: {}",
        voice(&mut desk),
        admin_audit(relay, &id.to_string()).1
    );
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_offline_keeps_their_words_then_the_case_leaves_their_browser() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let away = bob_wrote_offline(&mut relay, &mut driver).await;
    let (id, bob_id) = (away.id, away.bob_id);
    let case = id.to_string();

    // Meanwhile Lena removes him from the team.
    let lena = Api::sign_in(&relay, "lena@council.test");
    let (status, body) = lena.call("DELETE", &format!("/api/cases/{id}/members/{bob_id}"), None);
    assert!(status < 300, "{status} {body}");

    // He opens the app again: his words reach Lena, and the case leaves his laptop.
    away.b.goto(&relay.url()).await.unwrap();
    wait_for_text(
        &away.b,
        "[data-testid=notices]",
        "You are no longer in the team for Sam Smith. The case has been removed from this device.",
    )
    .await;
    screenshot(&away.b, "98-left-the-team").await;
    let b = lena_has_his_words(&relay, away).await;
    let stored = eventually(20, "the case gone from the browser's storage", || async {
        let s = stored_for(&b, &case).await;
        (s == "0 false").then_some(s)
    })
    .await;
    assert_eq!(stored, "0 false");
    assert_eq!(
        js(
            &b,
            "document.querySelectorAll('[data-testid=caseload-case]').length"
        )
        .await,
        "0"
    );
    find(&b, "[data-testid=caseload-empty]").await;
    // The relay knows this device's copy is gone.
    let (status, rows) = admin_audit(&relay, &case);
    assert_eq!(status, 200);
    let events = events_of(&rows);
    assert!(
        events.contains(&"final_edits success_after_leaving".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"device_copy_removed left".to_string()),
        "{events:?}"
    );
}

/// Every key this browser's storage holds, as "store/key", in all its stores.
async fn stored_keys(b: &Client) -> Vec<String> {
    let v = b
        .execute_async(
            "const [done] = arguments; const open = indexedDB.open('tac-planner');\
             open.onsuccess = () => { const db = open.result; const names = [...db.objectStoreNames];\
               const tx = db.transaction(names, 'readonly');\
               const keys = names.map(n => tx.objectStore(n).getAllKeys());\
               tx.oncomplete = () => { db.close();\
                 done(names.flatMap((n, i) => keys[i].result.map(k => n + '/' + String(k)))); }; };\
             open.onerror = () => done(['error']);",
            vec![],
        )
        .await
        .expect("script runs");
    serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("not a list of keys: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_offline_keeps_their_words_then_their_browser_is_cleared() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let away = bob_wrote_offline(&mut relay, &mut driver).await;
    let (case, bob_id) = (away.id.to_string(), away.bob_id);

    // Meanwhile he leaves the council, and an administrator closes his account.
    let (status, body) = Api::admin(&relay).call(
        "POST",
        &format!("/api/professionals/{bob_id}/deactivate"),
        None,
    );
    assert!(status < 300, "{status} {body}");

    // His laptop is opened once more: his words reach Lena, then the laptop is cleared.
    away.b.goto(&relay.url()).await.unwrap();
    cleared_and_says_so(&away.b, "98-account-closed").await;
    let b = lena_has_his_words(&relay, away).await;
    let (_, rows) = admin_audit(&relay, &case);
    let events = events_of(&rows);
    for expected in [
        "final_edits success_after_leaving",
        "device_copy_removed left",
    ] {
        assert!(events.contains(&expected.to_string()), "{events:?}");
    }
    // The laptop stays signed out, and says why until someone signs in on it.
    b.refresh().await.unwrap();
    find(&b, "[data-testid=sign-in-form]").await;
    find(&b, "[data-testid=account-closed]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissed_leavers_browser_is_cleared_and_nothing_more_is_taken_from_it() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let away = bob_wrote_offline(&mut relay, &mut driver).await;
    let (case, bob_id) = (away.id.to_string(), away.bob_id);

    // Meanwhile he is dismissed: his account is closed and he is signed out everywhere, so
    // nothing more is taken from his devices.
    let admin = Api::admin(&relay);
    for step in ["deactivate", "revoke-sessions"] {
        let (status, body) =
            admin.call("POST", &format!("/api/professionals/{bob_id}/{step}"), None);
        assert!(status < 300, "{step}: {status} {body}");
    }

    // His laptop is opened once more: it is cleared, and says so without promising anything
    // was sent.
    let b = away.b;
    b.goto(&relay.url()).await.unwrap();
    cleared_and_says_so(&b, "98-account-closed-dismissed").await;
    let said = e2e::text_of(&b, "[data-testid=account-closed]").await;
    assert!(!said.contains("sent to their teams"), "{said}");
    let (_, rows) = admin_audit(&relay, &case);
    let events = events_of(&rows);
    assert!(
        !events.iter().any(|e| e.starts_with("final_edits")),
        "{events:?}"
    );
    // It said it removed the case, and the relay records who said so.
    assert!(
        events.contains(&"device_copy_removed left_after_sign_out".to_string()),
        "{events:?}"
    );
}

/// The browser shows the sign-in page saying the account was closed and the cases removed,
/// and nothing of anyone's is left in its storage: at most the id the app gives it.
async fn cleared_and_says_so(b: &Client, shot: &str) {
    wait_for_text(
        b,
        "[data-testid=account-closed]",
        "Your TAC Planner account has been closed, so your cases have been removed from this device.",
    )
    .await;
    find(b, "[data-testid=sign-in-form]").await;
    screenshot(b, shot).await;
    let keys = stored_keys(b).await;
    assert!(
        keys.iter().all(|k| k == "meta/storage-adapter-id"),
        "{keys:?}"
    );
}

/// "event outcome" for each row of a case's audit trail.
fn events_of(rows: &serde_json::Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["event"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

fn admin_audit(relay: &Relay, case: &str) -> (u16, serde_json::Value) {
    Api::admin(relay).call("GET", &format!("/api/cases/{case}/audit"), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_closed_long_ago_leaves_the_browser_and_can_still_be_opened_from_its_link() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    Api::admin(&relay).add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let lena = Api::sign_in(&relay, "lena@council.test");
    // Closed 100 days ago (the relay's default keeps closed cases on devices for 90).
    let mut record = CaseRecord::new("Sam Smith");
    let today = shared::record::dates::uk_day(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    record.closure.date = shared::record::dates::Day::from_days(today.days() - 100).iso();
    record.closure.reason = Some(shared::record::closure::ClosureReason::NeedsMet);
    // Written when it closed: nobody has worked on it since.
    let mut doc = automerge::AutoCommit::new();
    record.write(&mut doc).unwrap();
    doc.commit_with(
        automerge::transaction::CommitOptions::default().with_time((today.days() - 100) * 86_400),
    );
    let (_, id, _desk) = e2e::case_from_another_device(&relay, &lena, doc).await;
    let case = id.to_string();

    // Her laptop fetches it as one of her cases. It stays for this session (a case never leaves
    // in the session that first fetched it), and leaves the next time the app starts.
    let b = driver.browser().await;
    sign_in(&b, &relay, "lena@council.test").await;
    const GONE: &str =
        "The case for Sam Smith closed more than 90 days ago, so it has been removed from this device.";
    eventually(20, "the case stored on the laptop", || async {
        let s = stored_for(&b, &case).await;
        (s != "0 false" && s.ends_with("true")).then_some(())
    })
    .await;
    // The app looks at what to put away soon after it connects: after that moment the case is
    // still here.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        !e2e::text_of(&b, "[data-testid=notices]")
            .await
            .contains(GONE),
        "put away in the session that fetched it"
    );
    assert!(stored_for(&b, &case).await.ends_with("true"));
    b.refresh().await.unwrap();
    wait_for_text(&b, "[data-testid=notices]", GONE).await;
    screenshot(&b, "99-closed-case-put-away").await;
    let stored = eventually(20, "the case gone from the browser's storage", || async {
        let s = stored_for(&b, &case).await;
        (s == "0 false").then_some(s)
    })
    .await;
    assert_eq!(stored, "0 false");
    find(&b, "[data-testid=caseload-empty]").await;
    let (_, rows) = admin_audit(&relay, &case);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["event"] == "device_copy_removed" && r["outcome"] == "closed"),
        "{rows}"
    );

    // Reloading does not fetch it back; opening its link on purpose does, and it stays.
    b.refresh().await.unwrap();
    find(&b, "[data-testid=caseload-empty]").await;
    let link = format!("{}/case/{id}", relay.url());
    b.goto(&link).await.unwrap();
    wait_for_text(&b, "[data-testid=case-title]", "Sam Smith").await;
    eventually(20, "the case back on the laptop", || async {
        let s = stored_for(&b, &case).await;
        (s != "0 false" && s.ends_with("true")).then_some(())
    })
    .await;
    b.refresh().await.unwrap();
    wait_for_text(&b, "[data-testid=case-title]", "Sam Smith").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(stored_for(&b, &case).await.ends_with("true"));
    assert_eq!(
        js(
            &b,
            "String(!!document.querySelector('[data-testid=notices]'))"
        )
        .await,
        "false"
    );
}
