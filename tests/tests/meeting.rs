//! A TAC meeting run live by three professionals, each in their own browser: they see each
//! other present, type in the same decision text at once and converge with every word; one
//! types while the relay is down and it merges when it returns; the record is agreed and a later
//! change shows as made after agreement; a closed tab's presence disappears.

use e2e::accounts::{Api, COUNCIL};
use e2e::{
    click_button, eventually, find, js, last_field, screenshot, serious_accessibility_problems,
    sign_in, type_into, Driver, Relay,
};
use fantoccini::{Client, Locator};

const DECISIONS: &str = "[id^=field-meeting-][id$=-decisions]";

async fn text_of(b: &Client, css: &str) -> String {
    js(b, &format!("document.querySelector('{css}')?.innerText")).await
}

async fn wait_for_text(b: &Client, css: &str, expected: &str, secs: u64) {
    eventually(secs, &format!("{expected:?} in {css}"), || async {
        text_of(b, css).await.contains(expected).then_some(())
    })
    .await;
}

async fn decisions(b: &Client) -> String {
    js(b, &format!("document.querySelector('{DECISIONS}')?.value")).await
}

/// Types at the end of the decisions box with real key events.
async fn type_decision(b: &Client, words: &str) {
    let id = js(b, &format!("document.querySelector('{DECISIONS}').id")).await;
    b.execute(
        &format!("const t = document.getElementById('{id}'); t.focus(); t.setSelectionRange(t.value.length, t.value.length);"),
        vec![],
    )
    .await
    .unwrap();
    type_into(b, &id, words).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_run_a_meeting_on_one_plan_live() {
    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let tom = admin.add_practitioner("Tom Teacher", "tom@council.test", COUNCIL);
    let hana = admin.add_practitioner("Hana Health", "hana@council.test", COUNCIL);
    let a = driver.browser().await;
    let b = driver.browser().await;
    let c = driver.browser().await;

    // The lead professional's case has a plan with one action.
    sign_in(&a, &relay, "lena@council.test").await;
    type_into(&a, "new-child-name", "Jay Patel").await;
    click_button(&a, "Start case").await;
    let link = find(&a, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap();
    let case_id = link.rsplit('/').next().unwrap().to_string();
    a.goto(&format!("{link}/plan")).await.unwrap();
    click_button(&a, "Add an outcome").await;
    type_into(
        &a,
        &last_field(&a, "outcome", "title").await,
        "Jay is in school every day",
    )
    .await;
    click_button(&a, "Add an action").await;
    type_into(
        &a,
        &last_field(&a, "action", "what").await,
        "Walk Jay to school",
    )
    .await;
    let lead = Api::sign_in(&relay, "lena@council.test");
    for who in [tom, hana] {
        let (status, body) = lead.call(
            "POST",
            &format!("/api/cases/{case_id}/members"),
            Some(serde_json::json!({ "professional_id": who })),
        );
        assert_eq!(status, 201, "{body}");
    }

    // The meeting starts; the other two join it.
    a.goto(&format!("{link}/meetings")).await.unwrap();
    click_button(&a, "Start a meeting now").await;
    find(&a, "[data-testid=meeting-title]").await;
    let meeting_url = a.current_url().await.unwrap().to_string();
    assert!(meeting_url.contains("/meeting/"), "{meeting_url}");
    sign_in(&b, &relay, "tom@council.test").await;
    sign_in(&c, &relay, "hana@council.test").await;
    for x in [&b, &c] {
        x.goto(&meeting_url).await.unwrap();
        find(x, DECISIONS).await;
    }
    for (x, others) in [
        (&a, ["Tom Teacher", "Hana Health"]),
        (&b, ["Lena Lead", "Hana Health"]),
        (&c, ["Lena Lead", "Tom Teacher"]),
    ] {
        for other in others {
            wait_for_text(x, "[data-testid=presence]", other, 20).await;
        }
    }
    wait_for_text(&a, "[data-testid=presence]", "in the meeting", 5).await;

    // All three type in the decision at once.
    let (sa, sb, sc) = (
        "Lena: school run plan agreed.",
        "Tom: breakfast club from Monday.",
        "Hana: health check in May.",
    );
    tokio::join!(
        type_decision(&a, sa),
        type_decision(&b, sb),
        type_decision(&c, sc)
    );
    let mut agreed_text = String::new();
    eventually(
        30,
        "the three decision boxes to converge with every word",
        || async {
            let (da, db, dc) = (
                decisions(&a).await,
                decisions(&b).await,
                decisions(&c).await,
            );
            let all = [sa, sb, sc].iter().all(|s| da.contains(s));
            (all && da == db && db == dc).then(|| da.clone())
        },
    )
    .await
    .clone_into(&mut agreed_text);
    screenshot(&a, "40-meeting-a").await;
    let problems = serious_accessibility_problems(&a).await;
    assert!(problems.is_empty(), "meeting mode: {}", problems.join("\n"));

    // The relay drops mid-meeting; Hana keeps typing; it merges when the relay is back.
    relay.stop();
    type_decision(&c, " Offline: Hana to ring the GP.").await;
    relay.restart();
    eventually(40, "Hana's offline words to reach everyone", || async {
        let (da, db) = (decisions(&a).await, decisions(&b).await);
        (da.contains("Hana to ring the GP") && db == da && decisions(&c).await == da).then_some(())
    })
    .await;
    let after = decisions(&a).await;
    for s in [sa, sb, sc] {
        assert!(after.contains(s), "{s:?} lost: {after}");
    }

    // Those who joined are added to the attendees; the record is agreed by those present; a
    // later change shows as made after agreement.
    // (After the relay's restart, each person's presence comes back with their next heartbeat.)
    wait_for_text(&a, "[data-testid=joiners]", "Tom Teacher", 20).await;
    wait_for_text(&a, "[data-testid=joiners]", "Hana Health", 20).await;
    click_button(&a, "Add them to who is at the meeting").await;
    eventually(20, "everyone to be listed as attending", || async {
        let people = js(&a, "Array.from(document.querySelectorAll('[data-kind=participant] .app-item__summary')).map(e => e.innerText).join(' ')").await;
        (people.contains("Tom Teacher") && people.contains("Hana Health") && people.contains("Lena Lead")).then_some(())
    })
    .await;
    click_button(&a, "Mark the record as agreed").await;
    for x in [&a, &b, &c] {
        wait_for_text(x, "[data-testid=agreed]", "Lena Lead", 20).await;
        wait_for_text(x, "[data-testid=agreed]", "Tom Teacher", 5).await;
        wait_for_text(x, "[data-testid=agreed]", "Hana Health", 5).await;
    }
    type_decision(&b, " Tom added this later.").await;
    for x in [&a, &b, &c] {
        wait_for_text(
            x,
            "[data-testid=changed-after-agreement]",
            "What was decided was changed after the record was agreed",
            20,
        )
        .await;
    }
    screenshot(&b, "41-meeting-changed-after-agreement").await;

    // Hana closes her laptop: she disappears from the others' screens.
    c.close().await.unwrap();
    eventually(15, "Hana's presence to go", || async {
        (!text_of(&a, "[data-testid=presence]")
            .await
            .contains("Hana Health"))
        .then_some(())
    })
    .await;
    assert!(text_of(&a, "[data-testid=presence]")
        .await
        .contains("Tom Teacher"));
    let _ = a.find(Locator::Css(DECISIONS)).await.unwrap();
    a.close().await.unwrap();
    b.close().await.unwrap();
}
