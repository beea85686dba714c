//! Benchmark: typing in an open case while other cases change elsewhere and sync in the
//! background, in headless Chromium against the real relay, with a whole caseload on the
//! device (default 1,000 cases of 50 to 300 changes; 100 of them changed while typing).
//!
//! Run: `cargo run -p e2e --release --bin typing-bench` (needs what `scripts/test.sh` builds:
//! dist/, the relay binary, Chromium). `CASES`, `CHANGED` and `KEYS` change the sizes.
//!
//! # What is measured
//! Keystroke to paint: for each key the page records the key event's own time stamp, then
//! after the next frame (a `requestAnimationFrame` callback, then a message posted from it,
//! which runs once that frame is painted) the time again: the difference is how long the
//! person waited to see the letter. Keys are real WebDriver key presses into the case's
//! "What we are worried about" box, about 10 a second. Long tasks (over 50 ms, the browser's
//! own `longtask` entries) are counted too.
//!
//! Side by side in the same run: the same page typed into with nothing syncing (the floor),
//! then while another device of the same person changes `CHANGED` cases (10 changes each)
//! and the relay sends them to this browser.
//! Goal (caseload issue): keystroke to paint p95 under 16 ms (one frame) while syncing.

use e2e::accounts::{Api, COUNCIL};
use e2e::bench::{day_of_edits, env_num, realistic_case, realistic_size, Conn};
use e2e::{eventually, find, js, sign_in, Driver, Relay};
use shared::DocumentId;
use std::time::{Duration, Instant};

/// Records keystroke-to-paint times (not for modifier keys: a capital letter is one keystroke)
/// and long tasks in `window.__typing`.
const MEASURE: &str = "(() => { if (window.__typing) return; window.__typing = { lat: [], long: [] };\
  document.addEventListener('keydown', e => { if (['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) return; const t0 = e.timeStamp;\
    requestAnimationFrame(() => { const ch = new MessageChannel();\
      ch.port1.onmessage = () => window.__typing.lat.push(performance.now() - t0); ch.port2.postMessage(0); }); }, true);\
  new PerformanceObserver(l => { for (const e of l.getEntries()) window.__typing.long.push(e.duration); })\
    .observe({ type: 'longtask' }); })()";

struct Phase {
    name: String,
    lat: Vec<f64>,
    long: Vec<f64>,
}

fn pct(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

async fn type_keys(b: &fantoccini::Client, keys: usize, name: &str) -> Phase {
    js(
        b,
        "(window.__typing.lat = [], window.__typing.long = [], '')",
    )
    .await;
    let field = find(b, "#field-worriedabout").await;
    let words = "Sam was tired and late again this week; his mum says mornings are hard. ";
    for c in words.chars().cycle().take(keys) {
        let started = Instant::now();
        field.send_keys(&c.to_string()).await.expect("a key press");
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let read = |what: &'static str| async move {
        let v = b
            .execute(&format!("return window.__typing.{what};"), vec![])
            .await
            .expect("script runs");
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    Phase {
        name: name.into(),
        lat: read("lat").await,
        long: read("long").await,
    }
}

fn report(p: &Phase) {
    let long_ms: f64 = p.long.iter().sum::<f64>() + 0.0;
    println!(
        "  {:<44} {:>5} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>6} {:>8.0}",
        p.name,
        p.lat.len(),
        pct(&p.lat, 0.5),
        pct(&p.lat, 0.95),
        pct(&p.lat, 0.99),
        pct(&p.lat, 1.0),
        p.long.len(),
        long_ms
    );
}

#[tokio::main]
async fn main() {
    let count = env_num("CASES", 1000.0) as usize;
    let changed = (env_num("CHANGED", 100.0) as usize).min(count.saturating_sub(1));
    let keys = env_num("KEYS", 150.0) as usize;
    let relay = Relay::start();
    Api::admin(&relay).add_practitioner("Lena Lead", "lena@council.test", COUNCIL);
    let lena = Api::sign_in(&relay, "lena@council.test");

    // Lena's caseload, made and shared from her desk.
    let made = Instant::now();
    let ws = format!("{}/sync", relay.url().replacen("http", "ws", 1));
    let mut desk = Conn::connect(&ws, Some(&lena))
        .await
        .expect("desk connects");
    let mut ids: Vec<DocumentId> = Vec::new();
    let mut bases = Vec::new();
    for i in 0..count {
        let doc = realistic_case(i, realistic_size(i));
        bases.push(doc.clone().save());
        let (id, _) = desk.client.create(doc);
        let (status, body) = lena.call(
            "POST",
            "/api/cases",
            Some(serde_json::json!({ "id": id.to_string() })),
        );
        assert_eq!(status, 201, "{body}");
        let effects = desk.client.resync(&id);
        desk.carry_out(effects).await.expect("upload");
        ids.push(id);
    }
    desk.until_within(|c| c.client.unsent_total() == 0, Duration::from_secs(600))
        .await
        .expect("the relay has every case");
    println!(
        "{count} cases made and shared in {:.0} s",
        made.elapsed().as_secs_f64()
    );

    // The browser gets them all, as a worker signing in on a new device.
    let mut driver = Driver::start();
    let b = driver.browser().await;
    let fetched = Instant::now();
    sign_in(&b, &relay, "lena@council.test").await;
    eventually(900, "every case on the device", || async {
        let n: usize = js(
            &b,
            "document.querySelectorAll('[data-testid=caseload-case]').length",
        )
        .await
        .parse()
        .unwrap_or(0);
        (n >= count).then_some(())
    })
    .await;
    println!(
        "the browser listed all {count} in {:.0} s",
        fetched.elapsed().as_secs_f64()
    );

    b.goto(&format!("{}/case/{}/assessment", relay.url(), ids[0]))
        .await
        .unwrap();
    find(&b, "#field-worriedabout").await.click().await.unwrap();
    js(&b, MEASURE).await;
    // Warm up the page (first keys compile code paths), then wait for the app to settle
    // (it opens every case of the caseload in the background after signing in): 5 s with no
    // long task.
    type_keys(&b, 20, "warm-up").await;
    let settling = Instant::now();
    let mut seen = 0;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(5)
        && settling.elapsed() < Duration::from_secs(300)
    {
        let n: usize = js(&b, "window.__typing.long.length")
            .await
            .parse()
            .unwrap_or(0);
        if n != seen {
            seen = n;
            quiet_since = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "the page settled after {:.0} s",
        settling.elapsed().as_secs_f64()
    );
    let idle = type_keys(&b, keys, "nothing syncing").await;

    // Then the same while the desk changes `changed` cases and the relay sends them here.
    let edits: Vec<(DocumentId, Vec<u8>)> = (1..=changed)
        .map(|i| (ids[i], day_of_edits(&bases[i], i).expect("edits")))
        .collect();
    let pushing = tokio::spawn(async move {
        let started = Instant::now();
        for (id, bytes) in &edits {
            desk.client
                .document_mut(id)
                .expect("the desk holds it")
                .load_incremental(bytes)
                .expect("edits load");
            let effects = desk.client.flush(id);
            desk.carry_out(effects).await.expect("sent");
        }
        desk.until_within(|c| c.client.unsent_total() == 0, Duration::from_secs(300))
            .await
            .expect("the relay has the edits");
        (desk, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = type_keys(&b, keys, &format!("{changed} cases changing elsewhere")).await;
    let (_desk, pushed) = pushing.await.expect("desk task");

    // The changes did reach this browser: the last changed case shows them.
    b.goto(&format!("{}/case/{}/plan", relay.url(), ids[changed]))
        .await
        .unwrap();
    eventually(60, "the changes made elsewhere", || async {
        // The edits move due dates into February 2027.
        js(&b, "document.body.innerText.includes('February 2027')")
            .await
            .eq("true")
            .then_some(())
    })
    .await;

    println!(
        "\nKeystroke to paint, ms ({} keys each; the desk sent its changes in {:.1} s):",
        keys,
        pushed.as_secs_f64()
    );
    println!(
        "  {:<44} {:>5} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8}",
        "", "keys", "p50", "p95", "p99", "max", "long", "long ms"
    );
    report(&idle);
    report(&busy);
    println!("Goal: p95 under 16 ms while syncing.");
}
