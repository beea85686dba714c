//! The records pages: a system administrator sets how long records are kept and names the
//! records manager; the records manager sees a closed case whose time is up, approves
//! destroying it, and sees it in the log with whose devices have still to remove it. (Legal
//! holds, the database afterwards and a device bringing the case back are tested against the
//! relay in `server/tests/records.rs`.)

use e2e::accounts::{Api, ADMIN_EMAIL, COUNCIL};
use e2e::{find, js, screenshot, sign_in, Driver, Relay};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_names_a_records_manager_who_sees_what_is_due() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let admin = Api::admin(&relay);
    let rita = admin.add_practitioner("Rita Records", "rita@council.test", COUNCIL);
    admin.add_practitioner("Lee Lead", "lee@council.test", COUNCIL);
    // Lee's case closed in 2000, about a child born in 1970: long past any rule.
    let lee = Api::sign_in(&relay, "lee@council.test");
    let mut record = shared::record::CaseRecord::new("Jo Old");
    record.family.people[0].date_of_birth = "1970-01-01".into();
    record.closure.date = "2000-01-01".into();
    let bytes = record.into_document().unwrap().save();
    let mut device =
        e2e::bench::Conn::connect(&format!("ws://127.0.0.1:{}/sync", relay.port), Some(&lee))
            .await
            .unwrap();
    device.upload(Some(&lee), &bytes).await.unwrap();
    device
        .until(|c| c.client.unsent_total() == 0)
        .await
        .unwrap();
    let a = driver.browser().await;
    sign_in(&a, &relay, ADMIN_EMAIL).await;
    find(&a, "a[href='/records']").await.click().await.unwrap();
    find(&a, "[data-testid=retention-form]").await;
    a.execute(
        &format!(
            "const y = document.getElementById('retention-years'); y.value = '30'; y.dispatchEvent(new Event('input'));
             const m = document.getElementById('records-manager'); m.value = '{rita}'; m.dispatchEvent(new Event('change'));"
        ),
        vec![],
    )
    .await
    .unwrap();
    find(&a, "[data-testid=retention-form] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    find(&a, "[data-testid=records-message]").await;
    e2e::eventually(10, "the new rule on the page", || async {
        js(
            &a,
            "document.querySelector('[data-testid=retention-rule]')?.textContent",
        )
        .await
        .contains("30 years")
        .then_some(())
    })
    .await;
    // The form shows what was saved, the records manager included.
    e2e::eventually(10, "the records manager chosen in the form", || async {
        (js(&a, "document.getElementById('records-manager')?.value").await == rita.to_string())
            .then_some(())
    })
    .await;
    screenshot(&a, "70-records-admin").await;

    // Rita, a practitioner, is now the records manager: the header shows her the page.
    let b = driver.browser().await;
    sign_in(&b, &relay, "rita@council.test").await;
    find(&b, "a[href='/records']").await.click().await.unwrap();
    let due = find(&b, "[data-testid=due-case]")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        due.contains("Jo Old") && due.contains("1 January 2000"),
        "{due}"
    );
    screenshot(&b, "71-records-due").await;
    // Destroying needs the tick first.
    let destroy = find(&b, "[data-testid=due-case] .govuk-button--warning").await;
    assert_eq!(
        destroy.attr("disabled").await.unwrap().as_deref(),
        Some("true")
    );
    find(&b, "[data-testid=due-case] .govuk-checkboxes__input")
        .await
        .click()
        .await
        .unwrap();
    destroy.click().await.unwrap();
    find(&b, "[data-testid=nothing-due]").await;
    let waiting = find(&b, "[data-testid=waiting-for]")
        .await
        .text()
        .await
        .unwrap();
    assert!(waiting.contains("Lee Lead"), "{waiting}");
    screenshot(&b, "72-records-destroyed").await;
}
