//! Who changed what, and what the plan said at the meeting, end to end in two browsers against
//! the real relay: Lena makes a plan and agrees the first meeting's record; Ben changes an
//! action's due date and adds an action; Lena's case says "changed since you last looked",
//! naming Ben; her history shows both changes by Ben with old → new; the plan as it was when
//! the meeting record was agreed shows the old date; "since the last meeting" lists exactly
//! Ben's changes; and offline, the history still opens with names.

use e2e::accounts::{Api, COUNCIL};
use e2e::{
    choose, click_button, eventually, find, js, last_field, open_cards, screenshot,
    serious_accessibility_problems, sign_in, synced, text_of, type_into, wait_for_text, Driver,
    Relay,
};
use fantoccini::{Client, Locator};

/// Every history row on screen, with who made it: "who | row" lines.
async fn history_rows(b: &Client) -> Vec<String> {
    rows_in(b, "history-sitting").await
}

/// The rows of the sittings marked `testid`, with who made each: "who | row" lines.
async fn rows_in(b: &Client, testid: &str) -> Vec<String> {
    let all = js(
        b,
        &format!("Array.from(document.querySelectorAll('[data-testid={testid}]')).flatMap(s => \
           Array.from(s.querySelectorAll('[data-testid=history-row]')).map(r => \
             s.querySelector('[data-testid=history-who]').innerText + ' | ' + r.innerText)).join('\\n')"),
    )
    .await;
    all.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Waits for `css`; if it never comes, fails with the address and what the screen says.
async fn shown_or_explain(b: &Client, css: &str) {
    for _ in 0..200 {
        if js(b, &format!("document.querySelector('{css}') ? 'y' : ''")).await == "y" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    screenshot(b, "failed-history").await;
    let url = b
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    panic!(
        "{css} never appeared at {url}: {}",
        text_of(b, "main").await
    );
}

fn due_change() -> String {
    format!("Ben Brown ({COUNCIL}) | changed Action \u{201c}Attend parenting course\u{201d} › By when from \u{201c}3 December 2026\u{201d} to \u{201c}10 December 2026\u{201d}")
}

fn added() -> String {
    format!("Ben Brown ({COUNCIL}) | added the action \u{201c}Book a school nurse visit\u{201d}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_changed_what_and_what_the_plan_said_at_the_meeting() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let ben = admin.add_practitioner("Ben Brown", "ben@council.test", COUNCIL);
    let a = driver.browser().await;
    let b = driver.browser().await;
    let mut problems = Vec::new();

    // Lena's plan: one outcome, one action due on 3 December.
    sign_in(&a, &relay, "lena@council.test").await;
    let link = e2e::start_case(&a, "Sam Smith").await;
    let case_id = link.rsplit('/').next().unwrap().to_string();
    a.goto(&format!("{link}/plan")).await.unwrap();
    click_button(&a, "Add an outcome").await;
    type_into(
        &a,
        &last_field(&a, "outcome", "title").await,
        "Sam goes to school every day",
    )
    .await;
    click_button(&a, "Add an action").await;
    type_into(
        &a,
        &last_field(&a, "action", "what").await,
        "Attend parenting course",
    )
    .await;
    choose(&a, &last_field(&a, "action", "due").await, "2026-12-03").await;
    // Shared before she leaves the page. (Without this wait, about 1 run in 10 lost Lena's
    // plan edits on her own device when the page was left within about a second: noted in the
    // reliability issue, not yet explained; this test is about the history.)
    synced(&a).await;
    let lead = Api::sign_in(&relay, "lena@council.test");
    let (status, body) = lead.call(
        "POST",
        &format!("/api/cases/{case_id}/members"),
        Some(serde_json::json!({ "professional_id": ben })),
    );
    assert_eq!(status, 201, "{body}");

    // The first meeting, its record agreed with the plan as it is.
    a.goto(&format!("{link}/meetings")).await.unwrap();
    click_button(&a, "Start a meeting now").await;
    find(&a, "[data-testid=meeting-title]").await;
    click_button(&a, "Mark the record as agreed").await;
    wait_for_text(&a, "[data-testid=agreed]", "Lena Lead").await;
    synced(&a).await;
    a.goto(&relay.url()).await.unwrap();
    find(&a, "[data-testid=signed-in-as]").await;

    // Ben changes the due date and adds an action.
    sign_in(&b, &relay, "ben@council.test").await;
    b.goto(&format!("{link}/plan")).await.unwrap();
    find(&b, "[data-kind=action]").await;
    open_cards(&b).await;
    choose(&b, &last_field(&b, "action", "due").await, "2026-12-10").await;
    let buttons = b
        .find_all(Locator::XPath(
            "//button[normalize-space()='Add an action']",
        ))
        .await
        .unwrap();
    buttons.last().unwrap().click().await.unwrap();
    type_into(
        &b,
        &last_field(&b, "action", "what").await,
        "Book a school nurse visit",
    )
    .await;
    synced(&b).await;

    // Lena opens the case again: it says Ben changed it since she last looked.
    a.goto(&format!("{link}/family")).await.unwrap();
    wait_for_text(
        &a,
        "[data-testid=changed-since-who]",
        &format!("Ben Brown ({COUNCIL})"),
    )
    .await;
    let said = text_of(&a, "[data-testid=changed-since-who]").await;
    assert!(said.contains("made 2 changes"), "{said}");
    screenshot(&a, "50-changed-since-you-last-looked").await;
    a.find(Locator::LinkText("See what changed"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shown_or_explain(&a, "[data-testid=history-list]").await;
    let mut rows = Vec::new();
    for _ in 0..300 {
        rows = history_rows(&a).await;
        rows.sort();
        if rows == [added(), due_change()] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows, [added(), due_change()], "since you last looked");

    // The whole history: Ben's sitting first (newest), with both changes, then Lena's.
    choose(&a, "history-since", "all").await;
    let all = eventually(20, "the whole history", || async {
        let rows = history_rows(&a).await;
        (rows.len() > 2).then_some(rows)
    })
    .await;
    assert!(all[..2].contains(&due_change()), "{all:#?}");
    assert!(all[..2].contains(&added()), "{all:#?}");
    assert!(
        all.iter()
            .any(|r| r.starts_with("You | ") && r.contains("Attend parenting course")),
        "Lena's own changes read as hers: {all:#?}"
    );
    screenshot(&a, "51-history").await;
    for p in serious_accessibility_problems(&a).await {
        problems.push(format!("history: {p}"));
    }

    // Since the last meeting's record was agreed: exactly Ben's changes.
    choose(&a, "history-since", "review").await;
    let since = eventually(20, "changes since the meeting", || async {
        let rows = history_rows(&a).await;
        (rows.len() == 2).then_some(rows)
    })
    .await;
    let mut since_sorted = since.clone();
    since_sorted.sort();
    assert_eq!(
        since_sorted,
        [added(), due_change()],
        "since the last meeting"
    );

    // On the plan itself: the same two changes since the meeting, with who made them.
    a.goto(&format!("{link}/plan")).await.unwrap();
    find(&a, "[data-testid=changes-since-review] summary").await;
    screenshot(&a, "52-plan-changes-since-closed").await;
    a.find(Locator::Css("[data-testid=changes-since-review] summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let on_plan = eventually(20, "the plan's changes since the meeting", || async {
        let mut rows = rows_in(&a, "section-change-sitting").await;
        rows.sort();
        (rows.len() == 2).then_some(rows)
    })
    .await;
    assert_eq!(on_plan, [added(), due_change()], "on the plan");
    screenshot(&a, "53-plan-changes-since").await;
    for p in serious_accessibility_problems(&a).await {
        problems.push(format!("plan changes since: {p}"));
    }
    a.find(Locator::LinkText("History"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shown_or_explain(&a, "[data-testid=history-list]").await;

    // The plan as it was when the meeting's record was agreed: the old date, one action.
    js(
        &a,
        "document.querySelectorAll('details').forEach(d => d.open = true)",
    )
    .await;
    a.find(Locator::XPath("//a[contains(., 'was agreed')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(&a, "[data-testid=past-banner]").await;
    let dues = eventually(20, "the plan as it was", || async {
        let d = js(&a, "Array.from(document.querySelectorAll('[data-testid=past-field][data-field=due] dd')).map(e => e.innerText).join(',')").await;
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(dues, "3 December 2026");
    screenshot(&a, "54-case-as-it-was").await;
    // One section of it: the plan alone.
    choose(&a, "past-section", "Plan").await;
    let shown = eventually(20, "only the plan as it was", || async {
        let h = js(&a, "Array.from(document.querySelectorAll('[data-testid=past-case] h2')).map(e => e.innerText).join(',')").await;
        (h == "Plan").then_some(h)
    })
    .await;
    assert_eq!(shown, "Plan");
    screenshot(&a, "54-plan-as-it-was").await;
    for p in serious_accessibility_problems(&a).await {
        problems.push(format!("as it was: {p}"));
    }

    // Offline, the history still opens, with names, from this device alone.
    relay.stop();
    a.goto(&format!("{link}/history")).await.unwrap();
    shown_or_explain(&a, "[data-testid=history-list]").await;
    let offline = eventually(30, "the history offline", || async {
        let rows = history_rows(&a).await;
        (rows.len() > 2).then_some(rows)
    })
    .await;
    assert!(offline.contains(&due_change()), "{offline:#?}");
    screenshot(&a, "55-history-offline").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
