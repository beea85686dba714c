//! The caseload, end to end in two browsers against the real relay: Ben adds an action for
//! Lena to a case they share, choosing her from the team; Lena's caseload lists it under her actions with its date; when
//! the date has passed (her browser's clock set to 11 December 2026) the case shows an action
//! overdue; offline, searching for the child's mother finds the case; and a sentence typed
//! offline shows in the status bar as changes to Sam's case waiting to be shared.

use e2e::accounts::{Api, COUNCIL};
use e2e::{
    choose, click_button, devtools, find, js, last_field, screenshot,
    serious_accessibility_problems, sign_in, synced, text_of, type_into, wait_for_text, Driver,
    Relay,
};
use serde_json::json;

/// The browser's clock, moved on to 11 December 2026 at 10:00 UTC (and running from there).
const FIXED_CLOCK: &str = "(() => { const shift = Date.UTC(2026, 11, 11, 10, 0, 0) - Date.now(); const Real = Date; \
    globalThis.Date = new Proxy(Real, { \
      construct(target, args) { return args.length ? new Real(...args) : new Real(Real.now() + shift); }, \
      apply() { return new Real(Real.now() + shift).toString(); }, \
      get(target, key) { return key === 'now' ? () => Real.now() + shift : Reflect.get(target, key); } }); })();";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_actions_across_cases_overdue_when_the_date_passes_and_search_offline() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    let lena = admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let ben = admin.add_practitioner("Ben Brown", "ben@council.test", COUNCIL);
    let a = driver.browser().await;
    let b = driver.browser().await;
    let mut problems = Vec::new();

    // Lena starts Sam's case and records his mother.
    sign_in(&a, &relay, "lena@council.test").await;
    let link = e2e::start_case(&a, "Sam Smith").await;
    let case_id = link.rsplit('/').next().unwrap().to_string();
    a.goto(&format!("{link}/family")).await.unwrap();
    click_button(&a, "Add a person").await;
    type_into(&a, &last_field(&a, "person", "name").await, "Jo Smith").await;
    synced(&a).await;
    let lead = Api::sign_in(&relay, "lena@council.test");
    let (status, body) = lead.call(
        "POST",
        &format!("/api/cases/{case_id}/members"),
        Some(json!({ "professional_id": ben })),
    );
    assert_eq!(status, 201, "{body}");
    a.goto(&relay.url()).await.unwrap();
    find(&a, "[data-testid=case-list]").await;

    // Ben adds an action for Lena, due on 10 December.
    sign_in(&b, &relay, "ben@council.test").await;
    b.goto(&format!("{link}/plan")).await.unwrap();
    click_button(&b, "Add an outcome").await;
    type_into(
        &b,
        &last_field(&b, "outcome", "title").await,
        "Sam goes to school every day",
    )
    .await;
    click_button(&b, "Add an action").await;
    type_into(
        &b,
        &last_field(&b, "action", "what").await,
        "Book a school nurse visit",
    )
    .await;
    // Chosen from the team around the child (the relay's list, by id).
    let owner = last_field(&b, "action", "owner").await;
    let lena_option = format!("option[value='professional:{lena}']");
    find(&b, &lena_option).await;
    choose(&b, &owner, &format!("professional:{lena}")).await;
    choose(&b, &last_field(&b, "action", "due").await, "2026-12-10").await;
    synced(&b).await;

    // Lena's caseload: her action, with its date, without opening the case.
    wait_for_text(&a, "[data-testid=my-actions]", "Book a school nurse visit").await;
    wait_for_text(&a, "[data-testid=my-action-due]", "10 December 2026").await;
    let facts = text_of(&a, "[data-testid=caseload-facts]").await;
    assert!(facts.contains("You are lead professional"), "{facts}");
    assert!(facts.contains("Changed "), "{facts}");
    screenshot(&a, "70-caseload").await;
    for p in serious_accessibility_problems(&a).await {
        problems.push(format!("caseload: {p}"));
    }

    // Once the date has passed, the case has an action overdue, and so does Lena.
    devtools(
        &a,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": FIXED_CLOCK }),
    )
    .await;
    a.refresh().await.unwrap();
    wait_for_text(&a, "[data-testid=caseload-attention]", "1 action overdue").await;
    wait_for_text(&a, "[data-testid=my-action-due]", "Overdue").await;
    screenshot(&a, "71-caseload-overdue").await;

    // Offline: searching for Sam's mother finds his case; someone else's name finds nothing.
    relay.stop();
    a.refresh().await.unwrap();
    find(&a, "#caseload-search").await;
    type_into(&a, "caseload-search", "jo smith").await;
    wait_for_text(&a, "[data-testid=case-list]", "Sam Smith").await;
    find(&a, "#caseload-search").await.clear().await.unwrap();
    type_into(&a, "caseload-search", "Omar").await;
    wait_for_text(&a, "[data-testid=caseload-empty]", "No cases match").await;
    screenshot(&a, "72-caseload-search-offline").await;

    // A sentence typed offline: the status bar says which case has changes waiting.
    a.goto(&format!("{link}/assessment")).await.unwrap();
    type_into(&a, "field-worriedabout", "Often tired in class.").await;
    wait_for_text(
        &a,
        "[data-testid=sync-status]",
        "Not shared yet: changes to Sam Smith's case since",
    )
    .await;
    js(&a, "window.scrollTo(0, 0) ?? ''").await;
    screenshot(&a, "73-not-shared-yet").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
