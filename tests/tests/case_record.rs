//! A whole early-help episode recorded through the real app: family, consent with a
//! safeguarding override, an assessment, a plan with two outcomes and three actions, a review,
//! a step-up and a closure. Then the relay stops, the page reloads, and everything is there.
//! Every section is checked with axe-core.

use e2e::accounts::ADMIN_EMAIL;
use e2e::{
    choose, click_button, eventually, find, js, last_field, open_cards, screenshot,
    serious_accessibility_problems, sign_in, type_into, Driver, Relay,
};
use fantoccini::{Client, Locator};

async fn open_section(b: &Client, title: &str) {
    b.find(Locator::LinkText(title))
        .await
        .unwrap_or_else(|e| panic!("no link to {title}: {e}"))
        .click()
        .await
        .unwrap();
    eventually(10, title, || async {
        let h = js(
            b,
            "document.querySelector('.app-section-title')?.textContent",
        )
        .await;
        (h == title).then_some(())
    })
    .await;
}

async fn value(b: &Client, id: &str) -> String {
    js(b, &format!("document.getElementById('{id}')?.value")).await
}

async fn values_of(b: &Client, kind: &str, field: &str) -> Vec<String> {
    let css = format!("[id^='field-{kind}-'][id$='-{field}']");
    let joined = js(
        b,
        &format!("Array.from(document.querySelectorAll(\"{css}\")).map(e => e.value).join('|')"),
    )
    .await;
    joined.split('|').map(str::to_string).collect()
}

/// The text of the closed item cards on the section.
async fn card_text(b: &Client) -> String {
    js(
        b,
        "Array.from(document.querySelectorAll('.app-item__summary')).map(e => e.innerText).join('\\n')",
    )
    .await
}

async fn check_accessibility(b: &Client, section: &str, problems: &mut Vec<String>) {
    for p in serious_accessibility_problems(b).await {
        problems.push(format!("{section}: {p}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_episode_is_recorded_and_survives_an_offline_reload() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    let mut problems = Vec::new();

    sign_in(&b, &relay, ADMIN_EMAIL).await;
    find(&b, "#new-child-name")
        .await
        .send_keys("Amira Khan")
        .await
        .unwrap();
    // The checker itself must catch a real problem: an image with no text alternative.
    b.execute("const i = document.createElement('img'); i.id = 'axe-probe'; i.src = '/icon-192.png'; document.body.appendChild(i);", vec![])
        .await
        .unwrap();
    let caught = serious_accessibility_problems(&b).await;
    assert!(
        caught.iter().any(|p| p.starts_with("image-alt")),
        "axe missed a known problem: {caught:?}"
    );
    b.execute("document.getElementById('axe-probe').remove();", vec![])
        .await
        .unwrap();
    check_accessibility(&b, "case list", &mut problems).await;
    click_button(&b, "Start case").await;
    find(&b, "[data-testid=case-title]").await;

    // Family: the address and the father.
    type_into(&b, "field-family-address", "12 Elm Road").await;
    click_button(&b, "Add a person").await;
    let role = last_field(&b, "person", "role").await;
    choose(&b, &role, "parent_carer").await;
    let relationship = last_field(&b, "person", "relationship").await;
    choose(&b, &relationship, "father").await;
    let name = last_field(&b, "person", "name").await;
    type_into(&b, &name, "Omar Khan").await;
    screenshot(&b, "10-family").await;
    check_accessibility(&b, "family", &mut problems).await;

    // Consent: an override so social care can be told without consent.
    open_section(&b, "Consent").await;
    click_button(&b, "Add an override").await;
    type_into(
        &b,
        &last_field(&b, "override", "agency").await,
        "Children's social care",
    )
    .await;
    type_into(
        &b,
        &last_field(&b, "override", "lawfulbasis").await,
        "Children Act 1989 s47",
    )
    .await;
    type_into(
        &b,
        &last_field(&b, "override", "reason").await,
        "Risk of significant harm.",
    )
    .await;
    type_into(
        &b,
        &last_field(&b, "override", "decidedby").await,
        "J Patel, DSL",
    )
    .await;
    check_accessibility(&b, "consent", &mut problems).await;
    screenshot(&b, "11-consent").await;

    // Assessment.
    open_section(&b, "Assessment").await;
    type_into(
        &b,
        "field-assessment-childvoice",
        "I want my dad to stop shouting.",
    )
    .await;
    type_into(
        &b,
        "field-worriedabout",
        "Shouting at home; Amira is scared.",
    )
    .await;
    type_into(&b, "field-assessment-workingwell", "Amira loves school.").await;
    type_into(&b, "field-assessment-needstohappen", "A safe, calm home.").await;
    type_into(&b, "field-assessment-scale", "4").await;
    choose(&b, "field-risk-domesticabuse-concern", "yes").await;
    check_accessibility(&b, "assessment", &mut problems).await;
    screenshot(&b, "12-assessment").await;

    // Plan: two outcomes, three actions.
    open_section(&b, "Plan").await;
    let plan = [
        (
            "Amira feels safe at home",
            vec![
                (
                    "Refer dad to a parenting course",
                    "Sue Bell",
                    "Early Help",
                    "2026-12-01",
                ),
                (
                    "Safety plan with mum",
                    "Sue Bell",
                    "Early Help",
                    "2026-11-01",
                ),
            ],
        ),
        (
            "Amira is in school every day",
            vec![(
                "Daily check-in with Amira",
                // Markup characters, to check that cards show what was typed and run nothing.
                "Mr Jones <b>& Ms O'Neil</b>",
                "Oak Primary",
                "2027-01-15",
            )],
        ),
    ];
    for (title, actions) in &plan {
        click_button(&b, "Add an outcome").await;
        type_into(&b, &last_field(&b, "outcome", "title").await, title).await;
        for (what, owner, agency, due) in actions {
            // The newest outcome's "Add an action" button is the last one on the page.
            let buttons = b
                .find_all(Locator::XPath(
                    "//button[normalize-space()='Add an action']",
                ))
                .await
                .unwrap();
            buttons
                .last()
                .expect("an Add an action button")
                .click()
                .await
                .unwrap();
            type_into(&b, &last_field(&b, "action", "what").await, what).await;
            e2e::action_for_someone_else(&b, owner).await;
            type_into(&b, &last_field(&b, "action", "agency").await, agency).await;
            choose(&b, &last_field(&b, "action", "due").await, due).await;
        }
    }
    eventually(
        10,
        "the plan summary to count the overdue action",
        || async {
            let s = js(
                &b,
                "document.querySelector('[data-testid=plan-summary]')?.textContent",
            )
            .await;
            s.contains("1 action overdue").then_some(())
        },
    )
    .await;
    check_accessibility(&b, "plan", &mut problems).await;
    screenshot(&b, "13-plan").await;

    // A review.
    open_section(&b, "Meetings and reviews").await;
    click_button(&b, "Add a meeting").await;
    choose(&b, &last_field(&b, "meeting", "kind").await, "review").await;
    type_into(
        &b,
        &last_field(&b, "meeting", "decisions").await,
        "Continue the plan; dad has started the course.",
    )
    .await;
    choose(
        &b,
        &last_field(&b, "meeting", "nextdate").await,
        "2027-02-01",
    )
    .await;
    check_accessibility(&b, "meetings", &mut problems).await;
    screenshot(&b, "13a-meetings").await;

    // A step-up with the consent override.
    open_section(&b, "Step up or down").await;
    click_button(&b, "Add a step").await;
    choose(&b, &last_field(&b, "step", "direction").await, "up").await;
    type_into(
        &b,
        &last_field(&b, "step", "reason").await,
        "Domestic abuse has escalated.",
    )
    .await;
    choose(&b, &last_field(&b, "step", "consent").await, "override").await;
    type_into(&b, &last_field(&b, "step", "receivingteam").await, "MASH").await;
    // The handover meeting is picked from the case's meetings, by type and date.
    let handover = last_field(&b, "step", "handovermeetingid").await;
    let review = eventually(10, "the review among the handover choices", || async {
        let v = js(
            &b,
            &format!("document.getElementById('{handover}').options[1]?.value ?? ''"),
        )
        .await;
        (!v.is_empty()).then_some(v)
    })
    .await;
    choose(&b, &handover, &review).await;
    check_accessibility(&b, "step", &mut problems).await;
    screenshot(&b, "13b-step").await;

    // Closure.
    open_section(&b, "Closure").await;
    choose(&b, "field-closure-reason", "stepped_up").await;
    choose(&b, "field-closure-date", "2027-03-01").await;
    check_accessibility(&b, "closure", &mut problems).await;
    screenshot(&b, "14-closure").await;
    for (section, shot) in [
        ("Lead professional", "14a-lead-professional"),
        ("Escalation", "14b-escalation"),
    ] {
        open_section(&b, section).await;
        check_accessibility(&b, section, &mut problems).await;
        screenshot(&b, shot).await;
    }
    assert!(
        problems.is_empty(),
        "accessibility problems:\n{}",
        problems.join("\n")
    );

    // Everything reached the relay; then the relay stops and the page reloads offline.
    eventually(30, "everything to be shared", || async {
        let unsent = js(
            &b,
            "document.querySelector('[data-testid=sync-status]')?.dataset.unsent",
        )
        .await;
        (unsent == "0").then_some(())
    })
    .await;
    relay.stop();
    b.refresh().await.unwrap();
    find(&b, "[data-testid=case-title]").await;

    open_section(&b, "Family").await;
    assert_eq!(value(&b, "field-family-address").await, "12 Elm Road");
    open_cards(&b).await;
    assert!(values_of(&b, "person", "name")
        .await
        .contains(&"Omar Khan".to_string()));
    assert!(values_of(&b, "person", "relationship")
        .await
        .contains(&"father".to_string()));
    open_section(&b, "Consent").await;
    open_cards(&b).await;
    assert_eq!(
        values_of(&b, "override", "lawfulbasis").await,
        ["Children Act 1989 s47"]
    );
    open_section(&b, "Assessment").await;
    assert_eq!(
        value(&b, "field-assessment-childvoice").await,
        "I want my dad to stop shouting."
    );
    assert_eq!(value(&b, "field-assessment-scale").await, "4");
    assert_eq!(value(&b, "field-risk-domesticabuse-concern").await, "yes");
    open_section(&b, "Plan").await;
    // Closed cards show who does what by when, in plain words.
    let cards = card_text(&b).await;
    for expected in [
        "Refer dad to a parenting course",
        "Daily check-in with Amira",
        "1 December 2026",
        "Mr Jones <b>& Ms O'Neil</b>",
    ] {
        assert!(
            cards.contains(expected),
            "{expected:?} not on the plan's cards: {cards}"
        );
    }
    screenshot(&b, "14-offline-plan-cards").await;
    let mut problems = Vec::new();
    check_accessibility(&b, "Plan with closed cards", &mut problems).await;
    assert!(
        problems.is_empty(),
        "accessibility problems:\n{}",
        problems.join("\n")
    );
    open_cards(&b).await;
    assert_eq!(
        values_of(&b, "outcome", "title").await,
        ["Amira feels safe at home", "Amira is in school every day"]
    );
    assert_eq!(
        values_of(&b, "action", "what").await,
        [
            "Refer dad to a parenting course",
            "Safety plan with mum",
            "Daily check-in with Amira"
        ]
    );
    assert_eq!(
        values_of(&b, "action", "due").await,
        ["2026-12-01", "2026-11-01", "2027-01-15"]
    );
    open_section(&b, "Meetings and reviews").await;
    open_cards(&b).await;
    assert_eq!(values_of(&b, "meeting", "kind").await, ["review"]);
    open_section(&b, "Step up or down").await;
    open_cards(&b).await;
    assert_eq!(values_of(&b, "step", "consent").await, ["override"]);
    let handover = last_field(&b, "step", "handovermeetingid").await;
    eventually(10, "the handover meeting chosen", || async {
        let chosen = js(
            &b,
            &format!("(() => {{ const s = document.getElementById('{handover}'); return s.options[s.selectedIndex].text; }})()"),
        )
        .await;
        chosen.starts_with("Review on ").then_some(())
    })
    .await;
    open_section(&b, "Closure").await;
    assert_eq!(value(&b, "field-closure-reason").await, "stepped_up");
    screenshot(&b, "15-offline-closure").await;
    b.close().await.unwrap();
}
