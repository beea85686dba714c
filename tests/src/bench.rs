//! Pieces the native benchmarks share: our relay and the JavaScript sync server as child
//! processes on 127.0.0.1, our sync client over a real WebSocket, CPU readings, and a case of
//! realistic size.

use crate::accounts::Api;
use crate::repo_root;
use automerge::AutoCommit;
use futures::{SinkExt, StreamExt};
use shared::record::edit::{self, List, Path};
use shared::record::family::{Person, Role};
use shared::record::meetings::{Meeting, MeetingField, MeetingKind};
use shared::record::plan::{Action, ActionField, Outcome};
use shared::record::CaseRecord;
use shared::sync::{Effect, SyncClient};
use shared::DocumentId;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
pub type Res<T> = Result<T, String>;

pub fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- child processes

/// A server as a child process, killed on drop.
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    pub child: Child,
    _data: tempfile::TempDir,
    /// Our relay's signed-in practitioners (empty for the JS server, which has no accounts).
    pub logins: Vec<Api>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn ours(&self) -> bool {
        !self.logins.is_empty()
    }

    pub fn ws_url(&self) -> String {
        if self.ours() {
            format!("ws://127.0.0.1:{}/sync", self.port)
        } else {
            format!("ws://127.0.0.1:{}/", self.port)
        }
    }

    /// CPU seconds the server process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// utime + stime of a process, in seconds (Linux; 0 elsewhere).
pub fn cpu_seconds(stat: &str) -> f64 {
    let Ok(text) = std::fs::read_to_string(stat) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / 100.0
}

/// CPU seconds the whole machine has been busy (all cores), from /proc/stat.
pub fn machine_busy_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: busy = all − idle − iowait.
    let all: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).unwrap_or(&0.0) + ticks.get(4).unwrap_or(&0.0);
    (all - idle) / 100.0
}

pub fn wait_for_port(port: u16) -> Res<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err(format!("port {port} did not come up"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

pub fn relay_binary() -> PathBuf {
    std::env::var_os("TAC_RELAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root().join("target"))
                .join("release")
                .join("tac-relay")
        })
}

/// Our relay, with its first administrator and `practitioners` signed-in practitioners.
pub async fn start_ours(practitioners: usize) -> Res<Server> {
    start_ours_with(practitioners, &[]).await
}

/// The same, with more of the relay's flags.
pub async fn start_ours_with(practitioners: usize, flags: &[&str]) -> Res<Server> {
    let bin = relay_binary();
    if !bin.exists() {
        return Err(format!(
            "no relay at {}: run `cargo build --release -p server`",
            bin.display()
        ));
    }
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    crate::accounts::create_admin(&bin, data.path(), &[]);
    let port = crate::free_port();
    let child = Command::new(&bin)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--dist")
        .arg(repo_root().join("dist"))
        .args(flags)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let mut server = Server {
        name: "ours (tac-relay)",
        port,
        child,
        _data: data,
        logins: Vec::new(),
    };
    wait_for_port(port)?;
    // Setup, before anything is timed: the harness's blocking API client is fine here.
    let admin = Api::sign_in_at(port, crate::accounts::ADMIN_EMAIL);
    for i in 0..practitioners {
        let email = format!("bench{i}@council.test");
        admin.add_practitioner(
            &format!("Bench Practitioner {i}"),
            &email,
            crate::accounts::COUNCIL,
        );
        server.logins.push(Api::sign_in_at(port, &email));
    }
    Ok(server)
}

/// How the JS sync server runs.
#[derive(Clone, Copy)]
pub enum JsMode {
    /// As published: it sends a changed document to other peers at most every 100 ms.
    AsPublished,
    /// The same server with that throttle set to 0 ms at load (`tests/bench/sync-at-once.mjs`),
    /// so it sends each change at once, as our relay does.
    AtOnce,
}

impl JsMode {
    pub fn name(self) -> &'static str {
        match self {
            JsMode::AsPublished => "JS automerge-repo-sync-server",
            JsMode::AtOnce => "JS automerge-repo-sync-server, each change sent at once",
        }
    }
}

/// The JS sync server from tools/node_modules, on a free port with a temporary data folder.
pub fn start_js(mode: JsMode) -> Res<Server> {
    let entry = js_server_dir().join("src/index.js");
    if !entry.exists() {
        return Err(format!("no {}: run `cd tools && npm ci`", entry.display()));
    }
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = crate::free_port();
    let mut node = Command::new("node");
    if let JsMode::AtOnce = mode {
        node.arg("--import")
            .arg(repo_root().join("tests/bench/sync-at-once.mjs"));
    }
    let child = node
        .arg(&entry)
        .current_dir(data.path())
        .env("PORT", port.to_string())
        .env("DATA_DIR", data.path().join("amrg"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting node: {e}"))?;
    let server = Server {
        name: mode.name(),
        port,
        child,
        _data: data,
        logins: Vec::new(),
    };
    wait_for_port(port)?;
    Ok(server)
}

pub fn js_server_dir() -> PathBuf {
    repo_root().join("tools/node_modules/@automerge/automerge-repo-sync-server")
}

// ---------------------------------------------------------------- HTTP API of our relay

// ---------------------------------------------------------------- one client connection

/// Our sync client over one WebSocket; storage effects are dropped (the bench measures the
/// network path; the flush that produces them still runs).
pub struct Conn {
    pub client: SyncClient,
    pub ws: Ws,
}

impl Conn {
    pub async fn connect(url: &str, login: Option<&Api>) -> Res<Conn> {
        let prefix = login.map_or("bench-", |l| l.peer_prefix());
        let uuid = DocumentId::random().to_string();
        let client = SyncClient::new(format!("{prefix}{uuid}"), format!("store-{uuid}"));
        Conn::connect_with(client, url, login).await
    }

    /// Connects a client that may already hold documents (a device coming back online).
    pub async fn connect_with(client: SyncClient, url: &str, login: Option<&Api>) -> Res<Conn> {
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        if let Some(l) = login {
            request
                .headers_mut()
                .insert("cookie", l.cookie().parse().map_err(|_| "bad cookie")?);
        }
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|e| format!("websocket to {url}: {e}"))?;
        let mut conn = Conn { client, ws };
        let effects = conn.client.connected();
        conn.carry_out(effects).await?;
        conn.until(|c| c.client.is_ready()).await?;
        Ok(conn)
    }

    /// Adds a saved case as a new case: registered with our relay (as the app does) when
    /// signed in, and sent. Returns its new id.
    pub async fn upload(&mut self, login: Option<&Api>, bytes: &[u8]) -> Res<DocumentId> {
        let doc = AutoCommit::load(bytes).map_err(|e| e.to_string())?;
        let (id, _unsent) = self.client.create(doc);
        if let Some(login) = login {
            let (status, body) = login.call(
                "POST",
                "/api/cases",
                Some(serde_json::json!({ "id": id.to_string() })),
            );
            if status != 201 {
                return Err(format!("registering a case: {status} {body}"));
            }
        }
        let effects = self.client.resync(&id);
        self.carry_out(effects).await?;
        Ok(id)
    }

    /// Sends what the client asks to send; reports whether a document changed.
    pub async fn carry_out(&mut self, effects: Vec<Effect>) -> Res<bool> {
        let mut changed = false;
        for e in effects {
            match e {
                Effect::Send(frame) => self
                    .ws
                    .send(WsMessage::Binary(frame.into()))
                    .await
                    .map_err(|e| format!("send: {e}"))?,
                Effect::Changed(_) => changed = true,
                _ => {}
            }
        }
        Ok(changed)
    }

    /// Handles incoming frames until `done` holds (at most 20 s).
    pub async fn until(&mut self, done: impl Fn(&mut Self) -> bool) -> Res<()> {
        self.until_within(done, Duration::from_secs(20)).await
    }

    /// Handles incoming frames until `done` holds, for at most `limit`.
    pub async fn until_within(
        &mut self,
        done: impl Fn(&mut Self) -> bool,
        limit: Duration,
    ) -> Res<()> {
        let deadline = Instant::now() + limit;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err("timed out in setup".into()),
                Ok(Some(Ok(WsMessage::Binary(frame)))) => {
                    let effects = self.client.receive(&frame).map_err(|e| e.to_string())?;
                    self.carry_out(effects).await?;
                }
                Ok(Some(Ok(_))) => {}
                Ok(other) => return Err(format!("server closed during setup: {other:?}")),
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- a realistic case

/// Changes in the `i`th case of a caseload: 50 to 300, as a year of work leaves them.
pub fn realistic_size(i: usize) -> usize {
    50 + (i * 37) % 251
}

/// Case `i` of a caseload, of about `changes` changes: a family, a plan of actions, a
/// review, and edits to them.
pub fn realistic_case(i: usize, changes: usize) -> AutoCommit {
    let mut record = CaseRecord::new(&format!("Child {i} Example"));
    record.family.people[0].date_of_birth =
        format!("20{:02}-0{}-1{}", 10 + i % 15, 1 + i % 9, i % 10);
    record.family.people.push(Person::new(
        Role::ParentCarer,
        &format!("Parent {i} Example"),
    ));
    let mut doc = record.into_document().unwrap();
    let outcome = Outcome::new("Goes to school every day");
    let oid = outcome.id.clone();
    edit::add(&mut doc, &List::Outcomes, &outcome).unwrap();
    let mut actions = Vec::new();
    for a in 0..3 + i % 6 {
        let action = Action::new(&format!("Action {a}"));
        actions.push(action.id.clone());
        edit::add(&mut doc, &List::Actions(oid.clone()), &action).unwrap();
    }
    let meeting = Meeting::new(MeetingKind::Review, "2026-10-01");
    let mid = meeting.id.clone();
    edit::add(&mut doc, &List::Meetings, &meeting).unwrap();
    doc.commit();
    let mut n = doc.get_changes(&[]).len();
    let mut k = 0;
    while n < changes {
        let a = &actions[k % actions.len()];
        match k % 3 {
            0 => edit::set_text(
                &mut doc,
                &Path::Action(a.clone(), ActionField::Due),
                &format!("2026-{:02}-{:02}", 1 + k % 12, 1 + k % 28),
            ),
            1 => edit::set_text(
                &mut doc,
                &Path::Action(a.clone(), ActionField::Evidence),
                &format!("Attendance this week {}%.", 80 + k % 20),
            ),
            _ => edit::set_text(
                &mut doc,
                &Path::Meeting(mid.clone(), MeetingField::NextDate),
                &format!("2027-0{}-1{}", 1 + k % 9, k % 10),
            ),
        }
        .unwrap();
        doc.commit();
        n += 1;
        k += 1;
    }
    doc
}

/// A day's edits to case `i` (saved whole in `base`) made elsewhere: 10 changes to its
/// actions' dates and evidence, as the bytes of those changes.
pub fn day_of_edits(base: &[u8], i: usize) -> Res<Vec<u8>> {
    let mut doc = automerge::AutoCommit::load(base).map_err(|e| e.to_string())?;
    let heads = doc.get_heads();
    let record = CaseRecord::from_document(&doc).map_err(|e| e.to_string())?;
    let actions: Vec<String> = record.plan.outcomes[0]
        .actions
        .iter()
        .map(|a| a.id.clone())
        .collect();
    for k in 0..10 {
        let action = actions[k % actions.len()].clone();
        let (field, text) = if k % 2 == 0 {
            (
                ActionField::Evidence,
                format!(
                    "Seen at home on day {k}; school says attendance is up to {}%.",
                    85 + i % 10
                ),
            )
        } else {
            (ActionField::Due, format!("2027-02-{:02}", 1 + (i + k) % 28))
        };
        edit::set_text(&mut doc, &Path::Action(action, field), &text).map_err(|e| e.to_string())?;
        doc.commit();
    }
    Ok(doc.save_after(&heads))
}
