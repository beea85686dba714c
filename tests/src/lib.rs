//! Harness for end-to-end tests: starts the real relay binary on 127.0.0.1 (stoppable and
//! restartable on the same port and data folder) and headless Chromium sessions, each with
//! its own fresh profile.
//!
//! Needs `dist/` (built by `trunk build --release`), the relay binary (built by
//! `cargo build -p server`) and Debian's chromium + chromedriver; `scripts/test.sh` does all that.

pub mod accounts;
pub mod bench;
pub mod provider;

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn wait_for_port(port: u16, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() != up {
        assert!(
            Instant::now() < deadline,
            "port {port} did not come {}",
            if up { "up" } else { "down" }
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A new, empty database on the PostgreSQL server `TAC_TEST_POSTGRES` names (made with
/// Debian's `createdb`), or `None` if it names none.
pub fn fresh_postgres_database() -> Option<String> {
    let admin = std::env::var("TAC_TEST_POSTGRES").ok()?;
    let url = url::Url::parse(&admin).ok()?;
    let name = format!("e2e_{}_{}", std::process::id(), free_port());
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/createdb"))
        .filter(|p| p.exists())
        .max()?;
    let status = Command::new(bin)
        .args(["-h", url.host_str()?, "-p", &url.port()?.to_string()])
        .args(["-U", url.username(), &name])
        .status()
        .ok()?;
    assert!(status.success(), "createdb failed");
    let mut db = url.clone();
    db.set_path(&format!("/{name}"));
    Some(db.to_string())
}

/// The relay as a child process.
pub struct Relay {
    pub port: u16,
    data: tempfile::TempDir,
    child: Option<Child>,
    /// More of the relay's flags (a PostgreSQL database, say).
    flags: Vec<String>,
}

impl Relay {
    pub fn start() -> Relay {
        let dist = repo_root().join("dist");
        assert!(
            dist.join("index.html").exists(),
            "no built app in {}: run `trunk build --release` (scripts/test.sh does)",
            dist.display()
        );
        let mut relay = Relay {
            port: free_port(),
            data: tempfile::tempdir().expect("temp dir"),
            child: None,
            flags: Vec::new(),
        };
        relay.create_admin();
        relay.restart();
        relay
    }

    /// Two relays serving the PostgreSQL database at `database_url` together
    /// (`--relay-url`, see `server/src/cluster.rs`), with the first administrator made.
    pub fn start_together(database_url: &str) -> (Relay, Relay) {
        let mut relays: Vec<Relay> = (0..2)
            .map(|_| {
                let port = free_port();
                Relay {
                    port,
                    data: tempfile::tempdir().expect("temp dir"),
                    child: None,
                    flags: vec![
                        "--database-url".into(),
                        database_url.into(),
                        "--relay-url".into(),
                        format!("http://127.0.0.1:{port}"),
                    ],
                }
            })
            .collect();
        relays[0].create_admin();
        for r in &mut relays {
            r.restart();
        }
        accounts::authenticator::same_accounts(relays[1].port, relays[0].port);
        let b = relays.pop().expect("two");
        (relays.pop().expect("two"), b)
    }

    fn binary() -> PathBuf {
        std::env::var_os("TAC_RELAY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| repo_root().join("target"));
                target.join("debug").join("tac-relay")
            })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The first administrator: [`accounts::create_admin`].
    fn create_admin(&self) {
        accounts::create_admin(&Self::binary(), self.data.path(), &self.flags);
    }

    /// Starts (again) on the same port and data folder.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "relay already running");
        let bin = Self::binary();
        assert!(
            bin.exists(),
            "no relay binary at {}: run `cargo build -p server`",
            bin.display()
        );
        let child = Command::new(bin)
            .args(["--bind", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(self.data.path())
            .arg("--dist")
            .arg(repo_root().join("dist"))
            .args(&self.flags)
            // The relay's log (ids only), appended to the file E2E_RELAY_LOG names, for a
            // failing run.
            .stdout(match std::env::var_os("E2E_RELAY_LOG") {
                Some(path) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
                None => Stdio::null(),
            })
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay starts");
        self.child = Some(child);
        wait_for_port(self.port, true);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            wait_for_port(self.port, false);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// chromedriver as a child process; sessions are separate Chromium instances.
pub struct Driver {
    port: u16,
    child: Child,
    profiles: Vec<tempfile::TempDir>,
}

impl Driver {
    pub fn start() -> Driver {
        let port = free_port();
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        // Its own process group, so that ending it also ends the Chromiums it started (a
        // failed test would otherwise leave them running).
        use std::os::unix::process::CommandExt;
        let child = Command::new(&bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin} did not start ({e}): run scripts/setup.sh --tests"));
        wait_for_port(port, true);
        Driver {
            port,
            child,
            profiles: Vec::new(),
        }
    }

    /// A new browser with a fresh profile (its own IndexedDB and service worker).
    pub async fn browser(&mut self) -> Client {
        let profile = tempfile::tempdir().expect("temp dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,1400",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        self.profiles.push(profile);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()), "args": args }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs in through the app's sign-in page (email, then password, then for administrators a
/// code from the authenticator app, set up the first time), and waits until the person's name
/// is in the header.
pub async fn sign_in(browser: &Client, relay: &Relay, email: &str) {
    browser.goto(&relay.url()).await.unwrap();
    type_into(browser, "email", email).await;
    click_button(browser, "Continue").await;
    type_into(browser, "password", accounts::PASSWORD).await;
    click_button(browser, "Sign in").await;
    second_factor_if_asked(browser, relay.port, email, Done::SignedIn).await;
    find(browser, "[data-testid=signed-in-as]").await;
}

/// After "Sign out": waits until the device has been cleared and the page reloaded at the
/// sign-in page (the sign-in form shows while the device is still being cleared, so going
/// elsewhere as soon as it shows could interrupt the clearing).
pub async fn signed_out(browser: &Client) {
    eventually(
        10,
        "the device cleared and the sign-in page loaded",
        || async { (js(browser, "location.pathname").await == "/sign-in").then_some(()) },
    )
    .await;
    find(browser, "#email").await;
    no_panic_noted(browser, "signing out").await;
}

/// Checks the app noted no panic (its panic hook keeps the last one, across reloads).
pub async fn no_panic_noted(browser: &Client, during: &str) {
    assert_eq!(
        js(browser, "localStorage.getItem('tac-last-panic')").await,
        "",
        "{during} went wrong inside the app"
    );
}

/// After the password of a session that ended: "Sign in again" (the email is filled in).
pub async fn sign_in_again(browser: &Client, relay: &Relay, email: &str) {
    click_button(browser, "Continue").await;
    type_into(browser, "password", accounts::PASSWORD).await;
    click_button(browser, "Sign in again").await;
    second_factor_if_asked(browser, relay.port, email, Done::SessionBack).await;
}

/// How a sign-in shows it is over: the person's name in the header (a first sign-in), or the
/// "session has ended" notice gone (signing in again; the name stayed all along).
#[derive(Clone, Copy)]
pub enum Done {
    SignedIn,
    SessionBack,
}

impl Done {
    async fn reached(self, browser: &Client) -> bool {
        match self {
            Done::SignedIn => browser
                .find(Locator::Css("[data-testid=signed-in-as]"))
                .await
                .is_ok(),
            Done::SessionBack => browser
                .find(Locator::Css("[data-testid=session-ended]"))
                .await
                .is_err(),
        }
    }
}

/// Answers the authenticator-app step if the app asks for it: sets the app up from the key on
/// screen the first time (and moves on past the recovery codes), or gives the next code.
pub async fn second_factor_if_asked(browser: &Client, port: u16, email: &str, done: Done) {
    let asked = eventually(20, "signed in, or asked for a code", || async {
        if browser.find(Locator::Css("#code")).await.is_ok() {
            return Some(true);
        }
        done.reached(browser).await.then_some(false)
    })
    .await;
    if !asked {
        return;
    }
    if let Ok(key) = browser
        .find(Locator::Css("[data-testid=authenticator-key]"))
        .await
    {
        accounts::authenticator::add(port, email, &key.text().await.unwrap());
        // The phone's camera gets the same key from a QR code drawn on the page.
        let drawn = js(
            browser,
            "document.querySelector('[data-testid=authenticator-qr] svg')?.getBoundingClientRect().width",
        )
        .await;
        assert!(
            drawn.parse::<f64>().is_ok_and(|w| w >= 150.0),
            "no QR code on the set-up screen ({drawn:?})"
        );
        screenshot(browser, "05-authenticator-set-up").await;
    }
    let code = accounts::authenticator::next_code_async(port, email).await;
    type_into(browser, "code", &code).await;
    click_button(browser, "Continue").await;
    let saw_codes = eventually(20, "signed in, or shown recovery codes", || async {
        if browser
            .find(Locator::Css("[data-testid=recovery-codes]"))
            .await
            .is_ok()
        {
            return Some(true);
        }
        (browser.find(Locator::Css("#code")).await.is_err() && done.reached(browser).await)
            .then_some(false)
    })
    .await;
    if saw_codes {
        screenshot(browser, "06-recovery-codes").await;
        click_button(browser, "Continue to TAC Planner").await;
    }
}

/// Opens every item card on the screen, including cards inside cards.
pub async fn open_cards(browser: &Client) {
    for _ in 0..5 {
        let clicked = js(
            browser,
            "(() => { const closed = document.querySelectorAll('.app-item__toggle[aria-expanded=false]'); closed.forEach(t => t.click()); return closed.length; })()",
        )
        .await;
        if clicked == "0" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // For the person reading the failure: what was on screen, and which cards stayed shut.
    screenshot(browser, "failed-open-cards").await;
    let left = js(browser, "Array.from(document.querySelectorAll('.app-item__toggle[aria-expanded=false]')).map(t => t.closest('[data-kind]').dataset.kind).join(',')").await;
    panic!("item cards did not open: {left}");
}

/// Polls `check` until it returns Some, or panics after `secs` with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads a JavaScript expression's value as a string ("" if null).
pub async fn js(browser: &Client, expr: &str) -> String {
    let v = browser
        .execute(&format!("return String({expr} ?? '');"), vec![])
        .await
        .expect("script runs");
    v.as_str().unwrap_or_default().to_string()
}

/// Waits for an element and returns it.
pub async fn find(browser: &Client, css: &str) -> fantoccini::elements::Element {
    eventually(20, css, || async {
        browser.find(Locator::Css(css)).await.ok()
    })
    .await
}

/// Saves a screenshot under `target/screenshots/` for a person to look at.
pub async fn screenshot(browser: &Client, name: &str) {
    let dir = repo_root().join("target").join("screenshots");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = browser.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// Types into the element with this id (real key events).
pub async fn type_into(browser: &Client, id: &str, text: &str) {
    find(browser, &format!("[id='{id}']"))
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {id}: {e}"));
}

/// Sets a select's or date input's value as a person choosing it would (firing the event the
/// app listens for).
pub async fn choose(browser: &Client, id: &str, value: &str) {
    find(browser, &format!("[id='{id}']")).await;
    let script = "const el = document.getElementById(arguments[0]); el.value = arguments[1]; \
        el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));";
    browser
        .execute(script, vec![id.into(), value.into()])
        .await
        .unwrap_or_else(|e| panic!("choosing {value} in {id}: {e}"));
}

/// Runs a script in Node (for the benchmarks' JavaScript peers) and reads the JSON it prints.
pub fn node_json<T: serde::de::DeserializeOwned>(script: &str) -> T {
    let out = Command::new("node")
        .args(["-e", script])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

/// Starts a case from the first screen; returns its link (`…/case/<id>`).
pub async fn start_case(browser: &Client, child: &str) -> String {
    type_into(browser, "new-child-name", child).await;
    click_button(browser, "Start case").await;
    find(browser, "[data-testid=case-link]")
        .await
        .text()
        .await
        .unwrap()
}

/// The text of the first element matching `css` ("" if there is none).
pub async fn text_of(browser: &Client, css: &str) -> String {
    js(
        browser,
        &format!("document.querySelector('{css}')?.innerText"),
    )
    .await
}

/// Waits until the first element matching `css` contains `expected`.
pub async fn wait_for_text(browser: &Client, css: &str, expected: &str) {
    eventually(30, &format!("{expected:?} in {css}"), || async {
        text_of(browser, css).await.contains(expected).then_some(())
    })
    .await;
}

/// Waits until the app is online with nothing left to share.
pub async fn synced(browser: &Client) {
    eventually(30, "everything shared", || async {
        let s = js(browser, "(() => { const s = document.querySelector('[data-testid=sync-status]').dataset; return s.link + ' ' + s.unsent; })()").await;
        (s == "online 0").then_some(())
    })
    .await;
}

/// Makes the newest action someone's who is outside the team and the family, by name.
pub async fn action_for_someone_else(browser: &Client, name: &str) {
    let owner = last_field(browser, "action", "owner").await;
    choose(browser, &owner, "other").await;
    type_into(browser, &format!("{owner}-name"), name).await;
}

/// The id of the last field whose id starts with `field-<kind>-` and ends with `-<field>`,
/// e.g. the newest action's "what" box.
pub async fn last_field(browser: &Client, kind: &str, field: &str) -> String {
    let css = format!("[id^='field-{kind}-'][id$='-{field}']");
    eventually(10, &css, || async {
        let id = js(
            browser,
            &format!("Array.from(document.querySelectorAll(\"{css}\")).pop()?.id"),
        )
        .await;
        (!id.is_empty()).then_some(id)
    })
    .await
}

/// Clicks the button with exactly this text.
pub async fn click_button(browser: &Client, text: &str) {
    let xpath = format!("//button[normalize-space()=\"{text}\"]");
    let button = eventually(10, text, || async {
        browser.find(Locator::XPath(&xpath)).await.ok()
    })
    .await;
    button
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {text}: {e}"));
}

/// Runs axe-core (npm, pinned in tools/) on the page and returns its serious and critical
/// violations as "rule: n elements" lines.
pub async fn serious_accessibility_problems(browser: &Client) -> Vec<String> {
    let path = repo_root().join("tools/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): run scripts/setup.sh", path.display()));
    browser.execute(&source, vec![]).await.expect("axe loads");
    let found = browser
        .execute_async(
            "const done = arguments[0]; axe.run(document).then(r => done(r.violations \
                .filter(v => v.impact === 'serious' || v.impact === 'critical') \
                .map(v => v.id + ': ' + v.nodes.length + ' elements, e.g. ' + v.nodes[0].target.join(' '))));",
            vec![],
        )
        .await
        .expect("axe runs");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Puts a case straight into the app's IndexedDB, as if it had been synced earlier: the
/// document saved whole under `key`, `name` in the case list, and `meta` entries (key, value)
/// the device keeps beside it. For benchmarks that need a big case without typing it.
pub async fn store_case(
    browser: &Client,
    key: &str,
    bytes: &[u8],
    id: &str,
    name: &str,
    meta: &[(String, String)],
) {
    let stored = browser
        .execute_async(
            "const [key, bytes, id, name, meta, done] = arguments; const open = indexedDB.open('tac-planner', 1);\
             open.onsuccess = () => { const db = open.result; const tx = db.transaction(['chunks', 'cases', 'meta'], 'readwrite');\
             tx.objectStore('chunks').put(new Uint8Array(bytes), key); tx.objectStore('cases').put(name, id);\
             for (const [k, v] of meta) tx.objectStore('meta').put(v, k);\
             tx.oncomplete = () => done('ok'); tx.onerror = () => done('error'); };",
            vec![
                key.into(),
                serde_json::json!(bytes),
                id.into(),
                name.into(),
                serde_json::json!(meta),
            ],
        )
        .await
        .expect("script runs");
    assert_eq!(stored, "ok", "the case is stored in IndexedDB");
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs a DevTools command in the browser (e.g. `Storage.overrideQuotaForOrigin`).
pub async fn devtools(browser: &Client, cmd: &str, params: serde_json::Value) -> serde_json::Value {
    browser
        .issue_cmd(DevTools {
            cmd: cmd.to_string(),
            params,
        })
        .await
        .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
}

/// The text of a PDF file, read with `pdftotext` (Debian's poppler-utils).
pub fn pdf_text(file: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/setup.sh --tests installs poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext could not read {}",
        file.display()
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Clicks "Download as PDF" on a document page and reads the file back as text, its
/// whitespace squashed to single spaces.
pub async fn download_pdf_text(browser: &Client, name: &str) -> String {
    let file = download(
        browser,
        "Download as PDF",
        "[data-testid^=document-outcome]",
        "The PDF has been downloaded.",
        name,
    )
    .await;
    pdf_text(file.path())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A downloaded file, in a folder removed when this is dropped.
pub struct Downloaded {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Downloaded {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Clicks `button`, waits for `outcome` to say `said`, and waits for the file `name` Chromium
/// saves.
pub async fn download(
    browser: &Client,
    button: &str,
    outcome: &str,
    said: &str,
    name: &str,
) -> Downloaded {
    let downloads = tempfile::tempdir().expect("temp dir");
    devtools(
        browser,
        "Browser.setDownloadBehavior",
        serde_json::json!({ "behavior": "allow", "downloadPath": downloads.path().to_string_lossy() }),
    )
    .await;
    click_button(browser, button).await;
    wait_for_text(browser, outcome, said).await;
    let file = downloads.path().join(name);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "no {name} in {:?}",
            std::fs::read_dir(downloads.path())
                .map(|d| d
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Chromium renames the file into place once written; a moment more for the rename.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Downloaded {
        _dir: downloads,
        path: file,
    }
}

/// A case made on `owner`'s other device (a desk computer, over the real sync protocol) and
/// stored on the relay before this returns: the relay's sync address, the case's id, and that
/// device, to follow the case live.
pub async fn case_from_another_device(
    relay: &Relay,
    owner: &accounts::Api,
    doc: automerge::AutoCommit,
) -> (String, shared::DocumentId, bench::Conn) {
    let ws = format!("{}/sync", relay.url().replacen("http", "ws", 1));
    let mut desk = bench::Conn::connect(&ws, Some(owner))
        .await
        .expect("the desk connects");
    let (id, _) = desk.client.create(doc);
    let (status, body) = owner.call(
        "POST",
        "/api/cases",
        Some(serde_json::json!({ "id": id.to_string() })),
    );
    assert_eq!(status, 201, "registering the case: {body}");
    let effects = desk.client.resync(&id);
    desk.carry_out(effects)
        .await
        .expect("the desk sends the case");
    desk.until(|c| c.client.unsent_changes(&id) == 0)
        .await
        .expect("the relay stores the case");
    (ws, id, desk)
}

/// The files index.html loads before the app shows on a first visit (the first part of the
/// wasm, its JS, the loader of the later parts, the CSS), and the later parts it names
/// (app/src/later.rs), as addresses on the relay.
pub fn app_files(html: &str) -> (Vec<String>, Vec<String>) {
    let addresses = |before: &str, after: char| -> Vec<String> {
        html.match_indices(before)
            .filter_map(|(i, _)| {
                let rest = &html[i + before.len()..];
                rest.find(after).map(|end| rest[..end].to_string())
            })
            .collect()
    };
    // index.html's script: `const first = { js: '…', wasm: '…' };`
    let mut first = addresses("const first = { js: '", '\'');
    first.extend(
        html.split_once("const first = {")
            .and_then(|(_, rest)| rest.split_once("wasm: '"))
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(wasm, _)| wasm.to_string()),
    );
    first.extend(addresses("<link rel=\"stylesheet\" href=\"", '"'));
    for part in addresses("<link rel=\"tac-first-part\" href=\"", '"') {
        if !first.contains(&part) {
            first.push(part);
        }
    }
    let later = addresses("<link rel=\"tac-later-part\" href=\"", '"');
    (first, later)
}

/// The whole app as one module (its JS and wasm), which index.html runs instead once the
/// service worker holds it (scripts/split.mjs).
pub fn whole_app_files(html: &str) -> Vec<String> {
    html.match_indices("<link rel=\"tac-whole-app\" href=\"")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}
