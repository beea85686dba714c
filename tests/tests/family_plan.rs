//! The family's plan in Chromium against the real relay: Lena makes Sam's plan (his mother, an
//! outcome, an action for Ben from the team and one for Sam's mother), opens "Family's plan",
//! sees it in plain words, downloads the PDF, which `pdftotext` reads back with the same words;
//! offline the page still shows, and downloading says to print instead.

use e2e::accounts::{Api, COUNCIL};
use e2e::{
    choose, click_button, devtools, find, last_field, screenshot, serious_accessibility_problems,
    sign_in, synced, text_of, type_into, wait_for_text, Driver, Relay,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_family_gets_their_plan_in_plain_words_printed_or_as_a_pdf() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let ben = admin.add_practitioner("Ben Brown", "ben@council.test", COUNCIL);
    let a = driver.browser().await;

    sign_in(&a, &relay, "lena@council.test").await;
    let link = e2e::start_case(&a, "Sam Smith").await;
    let case_id = link.rsplit('/').next().unwrap().to_string();
    let lead = Api::sign_in(&relay, "lena@council.test");
    let (status, body) = lead.call(
        "POST",
        &format!("/api/cases/{case_id}/members"),
        Some(json!({ "professional_id": ben })),
    );
    assert_eq!(status, 201, "{body}");

    a.goto(&format!("{link}/family")).await.unwrap();
    click_button(&a, "Add a person").await;
    type_into(&a, &last_field(&a, "person", "name").await, "Jo Smith").await;
    a.goto(&format!("{link}/plan")).await.unwrap();
    click_button(&a, "Add an outcome").await;
    type_into(
        &a,
        &last_field(&a, "outcome", "title").await,
        "Sam gets to school on time",
    )
    .await;
    click_button(&a, "Add an action").await;
    type_into(
        &a,
        &last_field(&a, "action", "what").await,
        "Ask CAMHS about Sam's sleep",
    )
    .await;
    let owner = last_field(&a, "action", "owner").await;
    find(&a, &format!("option[value='professional:{ben}']")).await;
    choose(&a, &owner, &format!("professional:{ben}")).await;
    choose(&a, &last_field(&a, "action", "due").await, "2027-01-15").await;
    click_button(&a, "Add an action").await;
    type_into(
        &a,
        &last_field(&a, "action", "what").await,
        "Set two alarms each morning",
    )
    .await;
    // The family member, chosen by name from the family.
    let owner = last_field(&a, "action", "owner").await;
    let mother = eventually_option(&a, &owner, "Jo Smith").await;
    choose(&a, &owner, &mother).await;
    synced(&a).await;

    // The family's plan, in plain words.
    a.goto(&format!("{link}/family-plan")).await.unwrap();
    wait_for_text(&a, "[data-testid=family-plan]", "The Smith family's plan").await;
    let page = text_of(&a, "[data-testid=family-plan]").await;
    for words in [
        "Who is helping",
        "Lena Lead",
        "Lead professional",
        "Ben Brown",
        "ben@council.test",
        "Sam gets to school on time",
        "Ask CAMHS (Child and Adolescent Mental Health Services) about Sam's sleep",
        "15 January 2027",
        "Set two alarms each morning (Jo Smith)",
        "If you think a child is in danger right now, call 999.",
    ] {
        assert!(page.contains(words), "{words:?} not in:\n{page}");
    }
    screenshot(&a, "80-family-plan").await;
    let problems = serious_accessibility_problems(&a).await;
    assert!(problems.is_empty(), "{problems:?}");

    // Printed (Chromium's own print to PDF, with the page's print styles): only the plan, on
    // numbered A4 pages.
    let printed = devtools(
        &a,
        "Page.printToPDF",
        json!({ "preferCSSPageSize": true, "printBackground": false }),
    )
    .await;
    let printed = base64_decode(printed["data"].as_str().expect("PDF data"));
    let print_file = e2e::repo_root().join("target/screenshots/family-plan-printed.pdf");
    std::fs::write(&print_file, &printed).unwrap();
    let text = e2e::pdf_text(&print_file);
    assert!(text.contains("The Smith family's plan"), "{text}");
    assert!(text.contains("Page 1 of"), "no page numbers in:\n{text}");
    for chrome in [
        "All cases",
        "Print the family's plan",
        "Download as PDF",
        "Early help case",
    ] {
        assert!(!text.contains(chrome), "{chrome:?} printed:\n{text}");
    }

    // The PDF, downloaded as a person would, reads back with the same words.
    let squashed = e2e::download_pdf_text(&a, "the-smith-family-s-plan.pdf").await;
    for words in [
        "The Smith family's plan",
        "Ben Brown",
        "Ask CAMHS (Child and Adolescent Mental Health Services) about Sam's sleep",
        "15 January 2027",
        "Page 1 of",
    ] {
        assert!(
            squashed.contains(words),
            "{words:?} not in the PDF:\n{squashed}"
        );
    }

    // Offline: the page is still there; the PDF cannot be made, and the page says what to do.
    relay.stop();
    a.refresh().await.unwrap();
    wait_for_text(
        &a,
        "[data-testid=family-plan]",
        "Sam gets to school on time",
    )
    .await;
    click_button(&a, "Download as PDF").await;
    wait_for_text(
        &a,
        "[data-testid^=document-outcome]",
        "You need to be online to download the PDF",
    )
    .await;
    screenshot(&a, "81-family-plan-offline").await;
}

/// The value of the option in `select` whose text starts with `name`.
async fn eventually_option(b: &fantoccini::Client, select: &str, name: &str) -> String {
    e2e::eventually(10, name, || async {
        let v = e2e::js(
            b,
            &format!(
                "Array.from(document.getElementById('{select}').options).find(o => o.text.startsWith('{name}'))?.value"
            ),
        )
        .await;
        (!v.is_empty()).then_some(v)
    })
    .await
}

fn base64_decode(text: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = T.iter().position(|t| *t == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
