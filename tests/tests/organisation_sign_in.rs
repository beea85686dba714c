//! Signing in with one's own organisation's account, in Chromium against a real OpenID provider
//! on loopback: a health visitor signs in through her service's provider, works on a case while
//! the relay is unreachable, her session ends, she signs in again through the provider, and
//! her offline words reach the relay (a fresh device, signed in the same way, reads them back).

use e2e::accounts::{Api, ADMIN_EMAIL};
use e2e::provider::Provider;
use e2e::{
    choose, click_button, eventually, find, js, screenshot, sign_in, start_case, synced, type_into,
    wait_for_text, Driver, Relay,
};
use fantoccini::{Client, Locator};
use serde_json::json;

const HEALTH: &str = "Riverside Health Visiting";
const EMAIL: &str = "hana@riverside-health.test";
const SUB: &str = "hana-at-riverside";
const FIELD: &str = "field-worriedabout";

/// At the provider's own page: the account to sign in as, then Authorize.
async fn authorise_at_provider(b: &Client, provider: &Provider) {
    eventually(20, "the provider's sign-in page", || async {
        let url = b.current_url().await.ok()?;
        (url.port() == Some(provider.port)).then_some(())
    })
    .await;
    let field = find(b, "input[type=text][name=sub]").await;
    field.send_keys(SUB).await.unwrap();
    screenshot(b, "60-provider-page").await;
    click_button(b, "Authorize").await;
}

async fn value(b: &Client) -> String {
    js(b, &format!("document.getElementById('{FIELD}')?.value")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_visitor_signs_in_with_her_own_account_and_her_offline_words_arrive() {
    let provider = Provider::start();
    provider.set_user(
        SUB,
        json!({ "email": EMAIL, "email_verified": true, "name": "Hana Health" }),
    );
    let mut relay = Relay::start();
    let admin = Api::admin(&relay);
    let hana = admin.add_practitioner("Hana Health", EMAIL, HEALTH);
    let agency = admin.agency(HEALTH);
    let mut driver = Driver::start();

    // A system administrator sets the health visiting service's own sign-in on the accounts
    // screen (signing in with a password and a code from an authenticator app).
    let desk = driver.browser().await;
    sign_in(&desk, &relay, ADMIN_EMAIL).await;
    desk.goto(&format!("{}/admin", relay.url())).await.unwrap();
    choose(&desk, "sign-in-agency", &agency.to_string()).await;
    find(&desk, "#sign-in-own").await.click().await.unwrap();
    type_into(&desk, "sign-in-issuer", &provider.issuer()).await;
    type_into(&desk, "sign-in-client", "tac-planner").await;
    type_into(&desk, "sign-in-secret", "a secret the provider gave").await;
    type_into(&desk, "sign-in-domains", "riverside-health.test").await;
    screenshot(&desk, "63-organisation-sign-in-settings").await;
    click_button(&desk, "Save sign-in settings").await;
    wait_for_text(
        &desk,
        "[data-testid=admin-message]",
        "Riverside Health Visiting people now sign in with their organisation's own account.",
    )
    .await;
    wait_for_text(
        &desk,
        "[data-testid=organisation-sign-in]",
        "Their own account (riverside-health.test)",
    )
    .await;
    let (_, agencies) = admin.call("GET", "/api/agencies", None);
    let saved = agencies
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agency)
        .cloned()
        .unwrap();
    assert_eq!(saved["provider"]["issuer"], provider.issuer());
    assert_eq!(
        saved["provider"]["email_domains"],
        json!(["riverside-health.test"])
    );
    assert!(saved["provider"].get("client_secret").is_none());

    let b = driver.browser().await;

    // Work email first; then the provider's page, not a password.
    b.goto(&relay.url()).await.unwrap();
    type_into(&b, "email", EMAIL).await;
    screenshot(&b, "61-sign-in-email-first").await;
    click_button(&b, "Continue").await;
    authorise_at_provider(&b, &provider).await;
    wait_for_text(&b, "[data-testid=signed-in-as]", "Hana Health").await;
    assert!(
        !b.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("signed_in"),
        "the address is tidied after signing in"
    );

    let link = start_case(&b, "Mia Brown").await;
    let page = format!("{link}/assessment");
    b.goto(&page).await.unwrap();
    type_into(&b, FIELD, "Mum is struggling with sleep.").await;
    synced(&b).await;

    // Offline: the relay cannot be reached; she keeps typing.
    relay.stop();
    eventually(20, "the app to notice it is offline", || async {
        (js(
            &b,
            "document.querySelector('[data-testid=sync-status]')?.dataset.link",
        )
        .await
            == "offline")
            .then_some(())
    })
    .await;
    let area = find(&b, &format!("#{FIELD}")).await;
    b.execute(
        &format!("const t = document.getElementById('{FIELD}'); t.focus(); t.setSelectionRange(t.value.length, t.value.length);"),
        vec![],
    )
    .await
    .unwrap();
    area.send_keys(" Dad works nights.").await.unwrap();
    // Saved on the device before anything else happens.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;

    // Meanwhile her session ends (here: her administrator signs her out everywhere).
    relay.restart();
    let admin = Api::admin(&relay);
    let (status, _) = admin.call(
        "POST",
        &format!("/api/professionals/{hana}/revoke-sessions"),
        None,
    );
    assert_eq!(status, 204);
    find(&b, "[data-testid=session-ended]").await;
    assert_eq!(
        value(&b).await,
        "Mum is struggling with sleep. Dad works nights."
    );
    b.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    screenshot(&b, "62-session-ended-provider").await;

    // She signs in again through her provider; the page comes back and shares her words.
    click_button(&b, "Continue").await;
    authorise_at_provider(&b, &provider).await;
    wait_for_text(&b, "[data-testid=signed-in-as]", "Hana Health").await;
    eventually(20, "the session-ended notice to go", || async {
        b.find(Locator::Css("[data-testid=session-ended]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    b.goto(&page).await.unwrap();
    find(&b, &format!("#{FIELD}")).await;
    synced(&b).await;

    // A fresh device, signed in the same way, gets her words from the relay.
    let other = driver.browser().await;
    other.goto(&relay.url()).await.unwrap();
    type_into(&other, "email", EMAIL).await;
    click_button(&other, "Continue").await;
    authorise_at_provider(&other, &provider).await;
    wait_for_text(&other, "[data-testid=case-list]", "Mia Brown").await;
    other.goto(&page).await.unwrap();
    let want = "Mum is struggling with sleep. Dad works nights.";
    for _ in 0..300 {
        if value(&other).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    screenshot(&b, "63-failed-first-device").await;
    screenshot(&other, "63-failed-other-device").await;
    panic!(
        "her offline words did not reach the other device: it has {:?}, the first device {:?} ({})",
        value(&other).await,
        value(&b).await,
        js(&b, "(() => { const s = document.querySelector('[data-testid=sync-status]').dataset; return s.link + ' ' + s.unsent; })()").await
    );
}
