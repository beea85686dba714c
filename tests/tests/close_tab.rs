//! Closing the tab right after typing: type a word, wait 0, 100, 250, 500 or 1,000 ms, close
//! the tab, open the case again: every word typed 250 ms or more before the tab closed must be
//! there. The curve below 250 ms is printed (`close-tab: …`) for the note, not asserted.

use e2e::accounts::{Api, COUNCIL};
use e2e::{eventually, find, js, sign_in, Driver, Relay};
use std::time::Duration;

const TEXTAREA: &str = "#field-worriedabout";
const DELAYS_MS: [u64; 5] = [0, 100, 250, 500, 1000];
const ROUNDS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_typed_250_ms_before_the_tab_closes_are_kept() {
    let relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    Api::admin(&relay).add_practitioner("Alex Adams", "alex@council.test", COUNCIL);
    sign_in(&b, &relay, "alex@council.test").await;
    let link = e2e::start_case(&b, "Sam Smith").await;
    let page = format!("{link}/assessment");
    // The first tab waits on the case list, so the typing tab is alone on the case (the
    // slower, 0.4 s, saving applies).
    b.goto(&relay.url()).await.unwrap();
    let home = b.window().await.unwrap();

    let mut kept = vec![(0usize, 0usize); DELAYS_MS.len()];
    for round in 0..ROUNDS {
        for (d, delay) in DELAYS_MS.iter().enumerate() {
            let word = format!("r{round}d{delay}");
            let tab = b.new_window(true).await.unwrap();
            b.switch_to_window(tab.handle).await.unwrap();
            b.goto(&page).await.unwrap();
            let area = find(&b, TEXTAREA).await;
            // Type at the end, after whatever earlier rounds kept.
            b.execute(
                &format!("const t = document.querySelector('{TEXTAREA}'); t.focus(); t.setSelectionRange(t.value.length, t.value.length);"),
                vec![],
            )
            .await
            .unwrap();
            area.send_keys(&format!("{word} ")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(*delay)).await;
            b.close_window().await.unwrap();
            b.switch_to_window(home.clone()).await.unwrap();

            // Open the case again in the other tab and read what is there.
            b.goto(&page).await.unwrap();
            find(&b, TEXTAREA).await;
            // Give sync from the relay a moment too: a word may have reached it first.
            tokio::time::sleep(Duration::from_millis(700)).await;
            let text = js(&b, &format!("document.querySelector('{TEXTAREA}')?.value")).await;
            kept[d].1 += 1;
            if text.contains(&word) {
                kept[d].0 += 1;
            }
            b.goto(&relay.url()).await.unwrap();
            eventually(10, "the case list", || async {
                b.find(fantoccini::Locator::Css("#new-child-name"))
                    .await
                    .ok()
            })
            .await;
        }
    }
    let curve: Vec<String> = DELAYS_MS
        .iter()
        .zip(&kept)
        .map(|(d, (k, n))| format!("{d} ms: {k}/{n}"))
        .collect();
    eprintln!(
        "close-tab: words kept after closing the tab: {}",
        curve.join(", ")
    );
    for (delay, (k, n)) in DELAYS_MS.iter().zip(&kept) {
        if *delay >= 250 {
            assert_eq!(
                k, n,
                "words typed {delay} ms before closing were lost: {curve:?}"
            );
        }
    }
}
