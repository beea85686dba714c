//! A request for support to the MASH in Chromium against the real relay. Lena's case has a
//! step-up going ahead without consent but no reason recorded: the request lists that as
//! missing and cannot be marked sent. Once she chooses the reason in Step up or down, it is
//! marked sent: the step-up shows the date, Consent records the decision to share, the
//! downloaded PDF reads back with the consent reason and the confidential part, and the
//! caseload says the request is waiting for an answer and when to chase it.

use autosurgeon::Text;
use e2e::accounts::{Api, COUNCIL};
use e2e::{
    choose, click_button, find, js, last_field, screenshot, sign_in, text_of, wait_for_text,
    Driver, Relay,
};
use shared::record::family::{Person, Role};
use shared::record::step::{ConsentCheck, Direction, Step};
use shared::record::CaseRecord;

/// A case ready for a request for support, but for the reason it goes without consent.
fn case() -> CaseRecord {
    let mut r = CaseRecord::new("Sam Smith");
    let child = &mut r.family.people[0];
    child.date_of_birth = "2018-05-04".into();
    child.gender = "Male".into();
    child.first_language = "English".into();
    let mut mum = Person::new(Role::ParentCarer, "Jo Smith");
    mum.parental_responsibility = Some(true);
    r.family.people.push(mum);
    r.family.address = "12 High Street, Anytown".into();
    let a = &mut r.assessment;
    a.child_voice = Text::with_value("I get scared when they shout.");
    a.parents_views = Text::with_value("Not known");
    a.working_well = Text::with_value("Sam goes to school every day.");
    for risk in [
        &mut a.risks.cse,
        &mut a.risks.missing,
        &mut a.risks.neglect,
        &mut a.risks.pre_birth,
    ] {
        risk.concern = Some(false);
    }
    a.risks.domestic_abuse.concern = Some(true);
    let mut step = Step::new(Direction::Up, "2026-11-25");
    step.reason = Text::with_value("Sam told his teacher his dad hit his mum.");
    step.parents_told = Some(false);
    step.consent = Some(ConsentCheck::Override);
    step.safeguarding_lead = "Dee Lead, Designated Safeguarding Lead".into();
    step.anonymous_source = Some(true);
    step.confidential = Text::with_value("The neighbour at number 12 made the first call.");
    step.receiving_team = "Anytown MASH".into();
    r.steps.push(step);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_support_is_sent_only_when_complete_and_the_step_up_shows_it() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    Api::admin(&relay).add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let lena = Api::sign_in(&relay, "lena@council.test");

    // The case, made and shared by Lena's other device.
    let (_, id, _desk) =
        e2e::case_from_another_device(&relay, &lena, case().into_document().unwrap()).await;
    let link = format!("{}/case/{id}", relay.url());

    let b = driver.browser().await;
    sign_in(&b, &relay, "lena@council.test").await;
    b.goto(&format!("{link}/referral")).await.unwrap();
    wait_for_text(
        &b,
        "[data-testid=referral-missing]",
        "Choose why the request goes without consent",
    )
    .await;
    wait_for_text(
        &b,
        "[data-testid=referral]",
        "Request for support: Sam Smith",
    )
    .await;
    screenshot(&b, "90-referral-incomplete").await;
    click_button(&b, "Mark as sent").await;
    wait_for_text(
        &b,
        "[data-testid^=referral-outcome]",
        "cannot be marked as sent until the parts listed are filled in",
    )
    .await;
    assert_eq!(text_of(&b, "[data-testid=referral-sent]").await, "");

    // The reason, chosen from the recognised list in Step up or down.
    b.goto(&format!("{link}/step")).await.unwrap();
    click_button(&b, "Change step 1").await;
    let reason = last_field(&b, "step", "noconsentreason").await;
    choose(&b, &reason, "police_investigation").await;
    b.goto(&format!("{link}/referral")).await.unwrap();
    wait_for_text(
        &b,
        "[data-testid=referral]",
        "because it would prejudice a police investigation",
    )
    .await;
    assert_eq!(text_of(&b, "[data-testid=referral-missing]").await, "");
    click_button(&b, "Mark as sent").await;
    wait_for_text(&b, "[data-testid=referral-sent]", "Sent on ").await;
    wait_for_text(&b, "[data-testid=referral-sent]", "Waiting for an answer").await;
    screenshot(&b, "91-referral-sent").await;

    // The PDF for the MASH, read back.
    let squashed = e2e::download_pdf_text(&b, "request-for-support-sam-smith.pdf").await;
    for words in [
        "Request for support: Sam Smith",
        "Anytown MASH",
        "Lena Lead (Council Early Help)",
        "Not asked, because it would prejudice a police investigation",
        "Confidential: not to be shared with the family",
        "The neighbour at number 12 made the first call.",
    ] {
        assert!(
            squashed.contains(words),
            "{words:?} not in the PDF:\n{squashed}"
        );
    }

    // The step-up shows the date it was sent; Consent holds the decision to share.
    b.goto(&format!("{link}/step")).await.unwrap();
    click_button(&b, "Change step 1").await;
    let sent = last_field(&b, "step", "sentdate").await;
    let value = e2e::eventually(10, "the sent date", || async {
        let v = js(&b, &format!("document.getElementById('{sent}').value")).await;
        (!v.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(value.len(), 10, "{value}");
    b.goto(&format!("{link}/consent")).await.unwrap();
    wait_for_text(&b, "[data-testid=section]", "Anytown MASH").await;
    click_change(&b).await;
    let lawful = last_field(&b, "sharing", "lawfulbasis").await;
    let basis = js(&b, &format!("document.getElementById('{lawful}').value")).await;
    assert!(
        basis.contains("because it would prejudice a police investigation"),
        "{basis}"
    );
    find(&b, "[data-testid=section]").await;
    screenshot(&b, "92-referral-sharing-recorded").await;

    // The caseload says the request is out, and when to chase it.
    b.goto(&relay.url()).await.unwrap();
    wait_for_text(
        &b,
        "[data-testid=caseload-facts]",
        "Request for support sent on",
    )
    .await;
    wait_for_text(&b, "[data-testid=caseload-facts]", "follow up by").await;
    screenshot(&b, "93-referral-on-caseload").await;
}

/// Opens the only item on the page for changing, whatever it is called.
async fn click_change(b: &fantoccini::Client) {
    let button = e2e::eventually(10, "a Change button", || async {
        b.find(fantoccini::Locator::XPath(
            "//button[starts-with(normalize-space(), 'Change')]",
        ))
        .await
        .ok()
    })
    .await;
    button.click().await.unwrap();
}
