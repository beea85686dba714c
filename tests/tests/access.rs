//! Who may see a case, end to end in three browsers against the real relay: an administrator
//! adds a health visitor on the accounts page; a lead professional records the family's consent
//! for a school and invites a teacher (the health visitor's invitation is refused: no consent);
//! the two organisations co-edit the case; the health visitor's browser cannot open it; signing
//! out leaves no case data in IndexedDB.

use e2e::accounts::{Api, ADMIN_EMAIL, COUNCIL, PASSWORD};
use e2e::{
    choose, click_button, eventually, find, js, last_field, screenshot,
    serious_accessibility_problems, sign_in, sign_in_again, signed_out, synced, text_of, type_into,
    wait_for_text, Driver, Relay,
};
use fantoccini::{Client, Locator};

async fn value(b: &Client, id: &str) -> String {
    js(b, &format!("document.getElementById('{id}')?.value")).await
}

async fn open_link(b: &Client, text: &str) {
    b.find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("no link {text}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn accessible(b: &Client, screen: &str, problems: &mut Vec<String>) {
    for p in serious_accessibility_problems(b).await {
        problems.push(format!("{screen}: {p}"));
    }
}

/// What is stored in the app's IndexedDB: "<chunks> <cases> <meta keys>", or "error: …" when
/// the page could not answer (it reloads as it clears the device on signing out, and a script
/// running across that reload never returns: a loaded run saw it), so callers that wait retry.
async fn stored_records(b: &Client) -> String {
    let v = match b
        .execute_async(
            "const done = arguments[0]; const open = indexedDB.open('tac-planner');\
             open.onsuccess = () => { const db = open.result; const names = ['chunks', 'cases', 'meta'].filter(n => db.objectStoreNames.contains(n));\
               if (names.length < 3) { db.close(); return done('0 0 '); }\
               const tx = db.transaction(names, 'readonly'); const counts = ['chunks', 'cases'].map(n => tx.objectStore(n).count());\
               const meta = tx.objectStore('meta').getAllKeys();\
               tx.oncomplete = () => { db.close(); done(counts.map(c => c.result).join(' ') + ' ' + meta.result.join(',')); }; };\
             open.onerror = () => done('error');",
            vec![],
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return format!("error: {e}"),
    };
    v.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_team_around_the_child_can_open_a_case() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    let lena = admin.add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let tom = admin.add_practitioner("Tom Teacher", "tom@oak.test", "Oak Primary School");
    let health = admin.agency("Health visiting");
    let lead = driver.browser().await;
    let teacher = driver.browser().await;
    let outsider = driver.browser().await;
    let mut problems = Vec::new();

    // The administrator adds a health visitor on the accounts page, then signs out.
    outsider.goto(&relay.url()).await.unwrap();
    find(&outsider, "#email").await;
    screenshot(&outsider, "30-sign-in").await;
    accessible(&outsider, "sign-in", &mut problems).await;
    sign_in(&outsider, &relay, ADMIN_EMAIL).await;
    open_link(&outsider, "Manage accounts").await;
    type_into(&outsider, "person-name", "Hana Health").await;
    type_into(&outsider, "person-email", "hana@health.test").await;
    choose(&outsider, "person-agency", &health.to_string()).await;
    type_into(&outsider, "person-password", PASSWORD).await;
    click_button(&outsider, "Add person").await;
    wait_for_text(
        &outsider,
        "[data-testid=admin-message]",
        "Hana Health can now sign in",
    )
    .await;
    wait_for_text(&outsider, "[data-testid=people]", "Health visiting").await;
    screenshot(&outsider, "31-manage-accounts").await;
    accessible(&outsider, "manage accounts", &mut problems).await;
    click_button(&outsider, "Sign out").await;
    signed_out(&outsider).await;

    // The lead professional starts a case and records consent to share with the school only.
    sign_in(&lead, &relay, "lena@council.test").await;
    type_into(&lead, "new-child-name", "Jay Patel").await;
    click_button(&lead, "Start case").await;
    let link = find(&lead, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap();
    let case_id = link.rsplit('/').next().unwrap().to_string();
    open_link(&lead, "Consent").await;
    click_button(&lead, "Add a consent").await;
    type_into(
        &lead,
        &last_field(&lead, "agencyconsent", "agency").await,
        "Oak Primary School",
    )
    .await;
    choose(
        &lead,
        &last_field(&lead, "agencyconsent", "date").await,
        "2026-11-20",
    )
    .await;
    synced(&lead).await;

    // Inviting the health visitor is refused (no consent); the teacher is let in.
    open_link(&lead, "Team").await;
    wait_for_text(&lead, "[data-testid=members]", "Lena Lead").await;
    let hana = admin
        .call("GET", "/api/professionals", None)
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Hana Health")
        .and_then(|p| p["id"].as_i64())
        .expect("Hana is in the directory");
    find(&lead, "#invite-who option[value='1']").await;
    choose(&lead, "invite-who", &hana.to_string()).await;
    click_button(&lead, "Invite").await;
    wait_for_text(
        &lead,
        "[data-testid=team-error]",
        "has not given consent to share with Health visiting",
    )
    .await;
    choose(&lead, "invite-who", &tom.to_string()).await;
    click_button(&lead, "Invite").await;
    wait_for_text(
        &lead,
        "[data-testid=team-message]",
        "Tom Teacher can now open this case",
    )
    .await;
    wait_for_text(&lead, "[data-testid=members]", "Oak Primary School").await;
    screenshot(&lead, "32-team").await;
    accessible(&lead, "team", &mut problems).await;

    // The teacher signs in on their own laptop: the case arrives by itself, and the two
    // organisations edit it together.
    sign_in(&teacher, &relay, "tom@oak.test").await;
    wait_for_text(&teacher, "[data-testid=case-list]", "Jay Patel").await;
    teacher.goto(&format!("{link}/assessment")).await.unwrap();
    type_into(&teacher, "field-assessment-childvoice", "I like football.").await;
    lead.goto(&format!("{link}/assessment")).await.unwrap();
    eventually(20, "the lead to see the teacher's words", || async {
        (value(&lead, "field-assessment-childvoice").await == "I like football.").then_some(())
    })
    .await;
    type_into(&lead, "field-assessment-parentsviews", "Mum is worried.").await;
    eventually(20, "the teacher to see the lead's words", || async {
        (value(&teacher, "field-assessment-parentsviews").await == "Mum is worried.").then_some(())
    })
    .await;
    synced(&teacher).await;
    // Each sees the other is here, and in which field.
    wait_for_text(
        &lead,
        "[data-testid=presence]",
        "Tom Teacher (Oak Primary School), in Assessment",
    )
    .await;
    wait_for_text(
        &teacher,
        "[data-testid=presence]",
        "Lena Lead (Council Early Help), in Assessment",
    )
    .await;
    wait_for_text(&teacher, ".app-presence-tag", "Lena Lead is").await;
    screenshot(&teacher, "33-presence").await;

    // A lost laptop: the administrator signs the teacher out everywhere. The teacher's open
    // page is told at once, keeps what they type, and shares it after signing in again.
    let (status, _) = admin.call(
        "POST",
        &format!("/api/professionals/{tom}/revoke-sessions"),
        None,
    );
    assert_eq!(status, 204);
    find(&teacher, "[data-testid=session-ended]").await;
    type_into(
        &teacher,
        "field-assessment-parentsviews",
        " Dad wants to help.",
    )
    .await;
    teacher
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    screenshot(&teacher, "34-session-ended").await;
    sign_in_again(&teacher, &relay, "tom@oak.test").await;
    eventually(
        20,
        "the teacher's words typed while signed out to reach the lead",
        || async {
            (value(&lead, "field-assessment-parentsviews").await
                == "Mum is worried. Dad wants to help.")
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        js(
            &teacher,
            "document.querySelector('[data-testid=session-ended]')?.innerText"
        )
        .await,
        ""
    );
    synced(&teacher).await;

    // The health visitor is not in the team: the link does not open the case, and the relay
    // does not admit the case exists.
    sign_in(&outsider, &relay, "hana@health.test").await;
    outsider.goto(&link).await.unwrap();
    wait_for_text(&outsider, "h1", "Case not found").await;
    assert_eq!(
        js(
            &outsider,
            "document.querySelector('[data-testid=case-title]')?.innerText"
        )
        .await,
        ""
    );
    assert_eq!(stored_records(&outsider).await.split(' ').next(), Some("0"));
    let (status, _) = Api::sign_in(&relay, "hana@health.test").call(
        "GET",
        &format!("/api/cases/{case_id}/members"),
        None,
    );
    assert_eq!(status, 404);
    screenshot(&outsider, "33-not-in-team").await;

    // The teacher signs out: nothing of the case stays on their laptop.
    // (The only thing a fresh page stores is this device's random storage id.)
    let before = stored_records(&teacher).await;
    assert!(!before.starts_with("0 0 "), "{before}");
    assert!(before.split([' ', ',']).any(|k| k == "me"), "{before}");
    click_button(&teacher, "Sign out").await;
    signed_out(&teacher).await;
    eventually(10, "the teacher's device to be empty", || async {
        let left = stored_records(&teacher).await;
        let meta_keys = left.splitn(3, ' ').nth(2).unwrap_or_default().to_string();
        (left.starts_with("0 0 ")
            && meta_keys
                .split(',')
                .all(|k| k.is_empty() || k == "storage-adapter-id"))
        .then_some(())
    })
    .await;

    // Someone else signs in on the lead's browser while her session has ended: her cases are
    // removed from the device before theirs can open, and none of hers is offered to them.
    synced(&lead).await;
    let (status, _) = admin.call(
        "POST",
        &format!("/api/professionals/{lena}/revoke-sessions"),
        None,
    );
    assert_eq!(status, 204);
    find(&lead, "[data-testid=session-ended]").await;
    find(&lead, "#email").await.clear().await.unwrap();
    type_into(&lead, "email", "hana@health.test").await;
    sign_in_again(&lead, &relay, "hana@health.test").await;
    wait_for_text(&lead, "[data-testid=signed-in-as]", "Hana Health").await;
    find(&lead, "#new-child-name").await;
    assert_eq!(text_of(&lead, "[data-testid=case-list]").await, "");
    // The device is cleared as the page reloads: wait for the reloaded page to answer.
    eventually(10, "Lena's cases to be gone from the device", || async {
        stored_records(&lead)
            .await
            .starts_with("0 0 ")
            .then_some(())
    })
    .await;

    // The audit trail shows the refused invitation and the health visitor's denied access.
    let (status, audit) = admin.call("GET", &format!("/api/cases/{case_id}/audit"), None);
    assert_eq!(status, 200);
    let rows = audit.as_array().expect("audit rows");
    let text = audit.to_string();
    assert!(rows.len() >= 4, "{text}");
    assert!(text.contains("denied"), "{text}");
    for personal in [
        "Jay Patel",
        "football",
        "Mum is worried",
        "Hana Health",
        "hana@health.test",
    ] {
        assert!(!text.contains(personal), "audit holds {personal:?}: {text}");
    }
    assert!(
        problems.is_empty(),
        "accessibility problems:\n{}",
        problems.join("\n")
    );
}
