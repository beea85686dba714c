//! A request for information (subject access) in Chromium against the real relay. Jo, Sam's
//! mother, asks for what the case holds about her. Lena records it (its deadline then shows
//! at the top of the case), reviews the case, keeps the father's details withheld as offered
//! and withholds his name wherever it appears, and sends it for approval. She cannot approve
//! her own review; Asha, on the same team, approves it and downloads the copy as PDF and JSON:
//! the father's name is in neither.

use autosurgeon::Text;
use e2e::accounts::{Api, COUNCIL};
use e2e::{
    choose, click_button, find, js, screenshot, sign_in, text_of, type_into, wait_for_text, Driver,
    Relay,
};
use serde_json::json;
use shared::record::family::{Person, Relationship, Role};
use shared::record::CaseRecord;

fn case() -> (CaseRecord, String, String) {
    let mut r = CaseRecord::new("Sam Smith");
    let mut mum = Person::new(Role::ParentCarer, "Jo Smith");
    mum.relationship = Some(Relationship::Mother);
    let mut dad = Person::new(Role::ParentCarer, "Dave Jones");
    dad.relationship = Some(Relationship::Father);
    dad.contact = "07700 900123".into();
    let (mum_id, dad_id) = (mum.id.clone(), dad.id.clone());
    r.family.people.extend([mum, dad]);
    r.worried_about = Text::with_value("Jo says Dave Jones shouts at Sam.");
    (r, mum_id, dad_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_information_is_reviewed_approved_by_a_colleague_and_downloaded_without_what_was_withheld(
) {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let asha_id = admin.add_practitioner("Asha Approver", "asha@council.test", COUNCIL);
    let lena = Api::sign_in(&relay, "lena@council.test");

    // The case, made and shared by Lena's other device; Asha is on the team.
    let (record, mum_id, dad_id) = case();
    let (_, id, _desk) =
        e2e::case_from_another_device(&relay, &lena, record.into_document().unwrap()).await;
    let (status, body) = lena.call(
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(json!({ "professional_id": asha_id })),
    );
    assert_eq!(status, 201, "{body}");
    let link = format!("{}/case/{id}", relay.url());

    // Lena records the request.
    let b = driver.browser().await;
    sign_in(&b, &relay, "lena@council.test").await;
    b.goto(&format!("{link}/information-requests"))
        .await
        .unwrap();
    wait_for_text(&b, "[data-testid=sar-none]", "No one has asked").await;
    find(&b, &format!("#sar-person option[value='{mum_id}']")).await;
    choose(&b, "sar-person", &mum_id).await;
    click_button(&b, "Record the request").await;
    wait_for_text(
        &b,
        "[data-testid=sar-message]",
        "The request is recorded. Answer by",
    )
    .await;

    // The father's details are offered as withheld; she withholds his name everywhere too.
    let dad_box = format!("[data-piece='family/people/{dad_id}'] input[type=checkbox]");
    find(&b, &dad_box).await;
    assert_eq!(
        js(
            &b,
            &format!("document.querySelector(\"{dad_box}\").checked")
        )
        .await,
        "true"
    );
    type_into(&b, "sar-new-words", "Dave Jones").await;
    click_button(&b, "Add words").await;
    wait_for_text(&b, "[data-testid=sar-words]", "Dave Jones").await;
    screenshot(&b, "95-sar-review").await;
    let problems = e2e::serious_accessibility_problems(&b).await;
    assert!(problems.is_empty(), "{problems:?}");
    click_button(&b, "Send for approval").await;
    wait_for_text(&b, "[data-testid=sar-message]", "sent for approval").await;
    click_button(&b, "Open").await;
    wait_for_text(
        &b,
        "[data-testid=sar-not-yours]",
        "You reviewed this request, so someone else must approve it",
    )
    .await;
    assert!(js(
        &b,
        "String(!!document.querySelector('[data-testid=sar-approve]'))"
    )
    .await
    .contains("false"));

    // The deadline is at the top of the case.
    b.goto(&format!("{link}/family")).await.unwrap();
    wait_for_text(
        &b,
        "[data-testid=requests-due]",
        "Jo Smith asked for their information. Answer by",
    )
    .await;
    screenshot(&b, "96-sar-due-on-case").await;

    // Asha approves and downloads the copy.
    let b2 = driver.browser().await;
    sign_in(&b2, &relay, "asha@council.test").await;
    b2.goto(&format!("{link}/information-requests"))
        .await
        .unwrap();
    wait_for_text(&b2, "[data-testid=sar-status]", "Waiting for approval").await;
    click_button(&b2, "Open").await;
    // She sees what Lena withheld before approving.
    let dad_piece = format!("[data-piece='family/people/{dad_id}']");
    find(&b2, &dad_piece).await;
    assert_eq!(
        js(&b2, &format!("String(document.querySelector(\"{dad_piece}\").classList.contains('app-sar-piece--withheld'))")).await,
        "true"
    );
    click_button(&b2, "Approve the copy").await;
    wait_for_text(&b2, "[data-testid=sar-message]", "The copy is approved").await;
    click_button(&b2, "Open").await;
    screenshot(&b2, "97-sar-approved").await;
    let pdf = e2e::download(
        &b2,
        "Download the copy (PDF)",
        "[data-testid=sar-message]",
        "The copy has been downloaded",
        "information-request-1.pdf",
    )
    .await;
    let text = e2e::pdf_text(pdf.path())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Information we hold about Jo Smith"),
        "{text}"
    );
    assert!(text.contains("Jo says [withheld] shouts at Sam."), "{text}");
    assert!(text.contains("We must answer by"), "{text}");
    for gone in ["Dave", "Jones", "07700"] {
        assert!(!text.contains(gone), "{gone:?} is in the PDF:\n{text}");
        let bytes = std::fs::read(pdf.path()).unwrap();
        assert!(!bytes.windows(gone.len()).any(|w| w == gone.as_bytes()));
    }
    let json_file = e2e::download(
        &b2,
        "Download the copy (JSON)",
        "[data-testid=sar-message]",
        "The copy has been downloaded",
        "information-request-1.json",
    )
    .await;
    let json_text = std::fs::read_to_string(json_file.path()).unwrap();
    let export: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(export["cover"]["subject"], "Jo Smith");
    assert!(!json_text.contains("Dave") && !json_text.contains("07700"));
    wait_for_text(&b2, "[data-testid=sar-status]", "Copy made").await;
    assert_eq!(text_of(&b2, "[data-testid=sar-status]").await, "Copy made");

    b.close().await.unwrap();
    b2.close().await.unwrap();
}
