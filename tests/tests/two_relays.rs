//! Two browsers on two relays that serve one PostgreSQL database together (`--relay-url`):
//! one early help worker at each, co-editing the same case live, end to end.
//!
//! Needs PostgreSQL: `scripts/test.sh` runs it with `TAC_TEST_POSTGRES` set and `--ignored`.

use e2e::accounts::{Api, COUNCIL};
use e2e::{eventually, find, js, screenshot, sign_in, Driver, Relay};
use fantoccini::Client;

const TEXTAREA: &str = "#field-worriedabout";

async fn text_of(b: &Client) -> String {
    js(b, &format!("document.querySelector('{TEXTAREA}')?.value")).await
}

/// Types at the end of the text with real key events.
async fn type_at_end(b: &Client, keys: &str) {
    let area = find(b, TEXTAREA).await;
    b.execute(
        &format!("const t = document.querySelector('{TEXTAREA}'); t.focus(); t.setSelectionRange(t.value.length, t.value.length);"),
        vec![],
    )
    .await
    .expect("place caret");
    area.send_keys(keys).await.expect("typing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TAC_TEST_POSTGRES); scripts/test.sh runs it"]
async fn two_browsers_on_two_relays_share_a_case_live() {
    let url = e2e::fresh_postgres_database().expect("TAC_TEST_POSTGRES names a PostgreSQL server");
    let (relay_a, relay_b) = Relay::start_together(&url);
    let mut driver = Driver::start();
    let a = driver.browser().await;
    let b = driver.browser().await;
    let admin = Api::admin(&relay_a);
    admin.add_practitioner("Alex Adams", "alex@council.test", COUNCIL);
    let bea = admin.add_practitioner("Bea Brown", "bea@council.test", COUNCIL);
    // Alex reaches the service through one relay, Bea through the other.
    sign_in(&a, &relay_a, "alex@council.test").await;
    sign_in(&b, &relay_b, "bea@council.test").await;

    find(&a, "#new-child-name")
        .await
        .send_keys("Sam Smith")
        .await
        .unwrap();
    find(&a, "button[type=submit]").await.click().await.unwrap();
    find(&a, "[data-testid=case-title]").await;
    let link = find(&a, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap();
    let case_id = link.rsplit('/').next().unwrap().to_string();
    a.goto(&format!("{link}/assessment")).await.unwrap();
    type_at_end(&a, "Often tired in class.").await;

    // Alex adds Bea to the team, through Bea's relay.
    let (code, body) = Api::sign_in(&relay_b, "alex@council.test").call(
        "POST",
        &format!("/api/cases/{case_id}/members"),
        Some(serde_json::json!({ "professional_id": bea })),
    );
    assert_eq!(code, 201, "inviting Bea: {body}");
    let link_b = link.replace(&relay_a.url(), &relay_b.url());
    assert_ne!(link_b, link);
    b.goto(&format!("{link_b}/assessment")).await.unwrap();
    eventually(20, "Bea to see Alex's words", || async {
        (text_of(&b).await == "Often tired in class.").then_some(())
    })
    .await;

    // Both type at once; each sees the other's words live, and nothing is lost.
    let (alex_words, bea_words) = (" Alex: seen at home.", " Bea: school agrees.");
    tokio::join!(type_at_end(&a, alex_words), type_at_end(&b, bea_words));
    let agreed = eventually(30, "both browsers to show both people's words", || async {
        let (ta, tb) = (text_of(&a).await, text_of(&b).await);
        let whole = ["Often tired in class.", alex_words.trim(), bea_words.trim()]
            .iter()
            .all(|w| ta.contains(w));
        (whole && ta == tb).then_some(ta)
    })
    .await;
    assert!(agreed.starts_with("Often tired in class."), "{agreed}");
    screenshot(&b, "60-two-relays-b").await;
}
