//! Shared test helpers: the real relay on a loopback port, accounts and sign-in over its HTTP
//! API, and a peer that drives our sync client core over a real, signed-in WebSocket.
#![allow(dead_code)]

pub mod relays;

use futures::{SinkExt, StreamExt};
use server::config::Config;
use server::AppState;
use shared::storage_key::StorageKey;
use shared::sync::{Effect, SyncClient};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The relay, in this process, on 127.0.0.1 with its data in `data_dir`.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub state: AppState,
    pub database_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl TestRelay {
    pub async fn start(data_dir: &Path) -> TestRelay {
        Self::start_with(data_dir, &[]).await
    }

    /// With more of the relay's flags (e.g. `--dist`).
    pub async fn start_with(data_dir: &Path, flags: &[&str]) -> TestRelay {
        let mut args = database_args(data_dir).await;
        args.extend([
            "--bind".to_string(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            // Decode workers from the real relay binary, as in production.
            "--decoder".into(),
            env!("CARGO_BIN_EXE_tac-relay").into(),
        ]);
        args.extend(flags.iter().map(|f| f.to_string()));
        let config = Config::from_args(args, |_| None).unwrap();
        let (router, state) = server::build(&config).await.expect("relay builds");
        let listener = tokio::net::TcpListener::bind(config.bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        // People's authenticator apps belong with the database, which outlives a restart.
        authenticator::relay_uses(addr, &config.database_url);
        TestRelay {
            addr,
            state,
            database_url: config.database_url,
            server,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, stops the sync engine (which finishes its storage writes) and closes
    /// the database, as a relay process that exits would.
    pub async fn stop(self) {
        self.server.abort();
        self.state.repos.stop().await;
        self.state.active.release().await;
        self.state.db.close().await;
    }
}

/// The database the relay under test uses: SQLite in its data folder, or, when
/// `TAC_TEST_POSTGRES` names a PostgreSQL server (an administrator's URL, e.g. the throwaway
/// cluster `scripts/postgres.sh` starts), a new empty database there for each data folder,
/// which a relay restarted on the same folder finds again.
pub async fn database_args(data_dir: &Path) -> Vec<String> {
    let noted = data_dir.join("postgres-url");
    let url = match std::fs::read_to_string(&noted) {
        Ok(url) => Some(url),
        Err(_) => fresh_postgres_database().await,
    };
    match url {
        Some(url) => {
            std::fs::create_dir_all(data_dir).unwrap();
            std::fs::write(&noted, &url).unwrap();
            vec!["--database-url".into(), url]
        }
        None => vec![],
    }
}

/// A new, empty database on the PostgreSQL server `TAC_TEST_POSTGRES` names, if it names one.
pub async fn fresh_postgres_database() -> Option<String> {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static MADE: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("TAC_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "relay_{}_{}_{nanos}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("TAC_TEST_POSTGRES names a server that accepts connections");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    // The same server and user, the new database.
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database name");
    Some(format!("{base}/{name}"))
}

/// Whether the tests run on PostgreSQL (see [`database_args`]).
pub fn on_postgres() -> bool {
    std::env::var("TAC_TEST_POSTGRES").is_ok_and(|u| !u.is_empty())
}

/// A GET over plain HTTP/1.1, returning (status, body); enough for `/health`.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = http(addr, "GET", path, None, None).await;
    (r.status, r.body)
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with an optional session cookie and JSON body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> HttpResponse {
    http_with(addr, method, path, token, body, &[]).await
}

/// [`http`] with extra request headers (the `Host` header is always `x`).
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
    extra: &[(&str, &str)],
) -> HttpResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(t) = token {
        head.push_str(&format!("Cookie: tac_session={t}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One HTTP/1.1 request with a session cookie and an optional JSON body, for answers that
/// are not text (a PDF): the status, the head, and the body's bytes.
pub async fn http_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&serde_json::Value>,
) -> (u16, String, Vec<u8>) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    http_raw(
        addr,
        method,
        path,
        token,
        "application/json",
        body.as_bytes(),
    )
    .await
}

/// [`http_bytes`] with a body of any bytes and type (e.g. a device's copy of a case).
pub async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: tac_session={token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, out[split + 4..].to_vec())
}

/// A PDF's text as `pdftotext` (Debian's poppler-utils, installed by
/// `scripts/setup.sh --tests`) reads it, compressed streams and all.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; scripts/setup.sh --tests installs it)");
    assert!(out.status.success(), "pdftotext failed on the PDF");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A signed-in professional: their session token (the cookie's value) and details.
#[derive(Debug, Clone)]
pub struct Login {
    pub id: i64,
    pub token: String,
    pub peer_prefix: String,
    pub agency_id: i64,
}

impl Login {
    /// A sync client whose peer id is bound to this session.
    pub fn client(&self, name: &str) -> SyncClient {
        SyncClient::new(
            format!("{}{name}", self.peer_prefix),
            format!("{name}-store"),
        )
    }
}

/// Signs in over the API, giving a code from the "authenticator app" when one is asked for
/// (set up on first sign-in, as a person would): the answer that carries the session cookie,
/// with the signed-in professional as its body.
pub async fn sign_in_response(addr: SocketAddr, email: &str, password: &str) -> HttpResponse {
    let mut r = http(
        addr,
        "POST",
        "/api/session",
        None,
        Some(&serde_json::json!({ "email": email, "password": password })),
    )
    .await;
    if r.status == 202 {
        let needed = r.json();
        let pending = needed["pending"].as_str().unwrap().to_string();
        if let Some(secret) = needed["set_up"]["secret"].as_str() {
            authenticator::add(addr, email, secret);
        }
        let code = authenticator::next_code(addr, email).await;
        r = http(
            addr,
            "POST",
            "/api/session/code",
            None,
            Some(&serde_json::json!({ "pending": pending, "code": code })),
        )
        .await;
        assert_eq!(r.status, 200, "code for {email}: {}", r.body);
        let mut accepted = r.json();
        let me = accepted["me"].take();
        r.body = me.to_string();
    }
    assert_eq!(r.status, 200, "sign in as {email}: {}", r.body);
    r
}

/// Signs in (see [`sign_in_response`]); panics unless it succeeds.
pub async fn sign_in(addr: SocketAddr, email: &str, password: &str) -> Login {
    let r = sign_in_response(addr, email, password).await;
    let cookie = r
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    let token = cookie
        .strip_prefix("tac_session=")
        .and_then(|c| c.split(';').next())
        .expect("tac_session cookie")
        .to_string();
    let json = r.json();
    Login {
        id: json["id"].as_i64().unwrap(),
        token,
        peer_prefix: json["peer_prefix"].as_str().unwrap().to_string(),
        agency_id: json["agency_id"].as_i64().unwrap(),
    }
}

/// The authenticator app of everyone the tests sign in as: their keys, by relay and email, and
/// the last 30-second step each used (a code is accepted once, so a quick second sign-in
/// takes the next step's code, which the relay allows as clock drift, or waits for it).
pub mod authenticator {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::Mutex;
    use std::time::Duration;

    /// (key, last step used) by (database, email).
    type Keys = HashMap<(String, String), (String, u64)>;
    static KEYS: Mutex<Option<Keys>> = Mutex::new(None);
    /// Which database each relay address serves (a restarted relay has a new address).
    static DATABASES: Mutex<Option<HashMap<SocketAddr, String>>> = Mutex::new(None);

    pub fn relay_uses(addr: SocketAddr, database_url: &str) {
        DATABASES
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert(addr, database_url.to_string());
    }

    fn key(addr: SocketAddr, email: &str) -> (String, String) {
        let database = DATABASES
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .get(&addr)
            .cloned()
            .unwrap_or_else(|| addr.to_string());
        (database, email.to_lowercase())
    }

    pub fn add(addr: SocketAddr, email: &str, secret: &str) {
        KEYS.lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert(key(addr, email), (secret.to_string(), 0));
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// The six digits an RFC 6238 app shows at 30-second step `step`.
    pub fn code_at(secret: &str, step: u64) -> String {
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32 key"))
            .build()
            .expect("a valid key");
        totp.generate(step * 30).to_string()
    }

    /// A code not used before on this relay.
    pub async fn next_code(addr: SocketAddr, email: &str) -> String {
        let key = key(addr, email);
        let (secret, step) = {
            let mut keys = KEYS.lock().unwrap();
            let entry = keys
                .get_or_insert_with(HashMap::new)
                .get_mut(&key)
                .expect("an authenticator set up for this person");
            // One step back is still accepted (clock drift), so three quick sign-ins need no
            // wait; but only early in a step, so the code has 20 s or more to reach the relay.
            let t = now();
            let earliest = if t % 30 < 10 { t / 30 - 1 } else { t / 30 };
            let step = earliest.max(entry.1 + 1);
            entry.1 = step;
            (entry.0.clone(), step)
        };
        // More than one step ahead is refused: wait until it is at most one ahead.
        while step > now() / 30 + 1 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        code_at(&secret, step)
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Makes (or finds) an agency and a professional in it, straight in the database.
pub async fn professional(
    relay: &TestRelay,
    agency: &str,
    name: &str,
    email: &str,
    role: &str,
) -> i64 {
    let db = &relay.state.db;
    let agency_id = match server::accounts::agencies(db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name == agency)
    {
        Some(a) => a.id,
        None => {
            server::accounts::create_agency(db, agency)
                .await
                .unwrap()
                .id
        }
    };
    server::accounts::create_professional(
        db,
        &server::accounts::NewProfessional {
            name: name.to_string(),
            email: email.to_string(),
            agency_id,
            role: server::accounts::Role::parse(role).unwrap(),
            password: PASSWORD.to_string(),
        },
    )
    .await
    .unwrap()
    .id
}

/// A practitioner made and signed in, for tests that are not about accounts.
pub async fn practitioner(relay: &TestRelay, name: &str) -> Login {
    let email = format!("{name}@example.org");
    professional(relay, "Test Agency", name, &email, "practitioner").await;
    sign_in(relay.addr, &email, PASSWORD).await
}

/// Registers a case id for the signed-in professional; returns the HTTP status.
pub async fn register(relay: &TestRelay, login: &Login, id: &shared::DocumentId) -> u16 {
    register_at(relay.addr, login, id).await
}

/// [`register`] on a relay at any address (e.g. one running as its own process).
pub async fn register_at(addr: SocketAddr, login: &Login, id: &shared::DocumentId) -> u16 {
    http(
        addr,
        "POST",
        "/api/cases",
        Some(&login.token),
        Some(&serde_json::json!({ "id": id.to_string() })),
    )
    .await
    .status
}

/// A new case (`Case::new("Sam")`) made by `peer`, registered for `login` and stored on the
/// relay before this returns.
pub async fn stored_case(relay: &TestRelay, login: &Login, peer: &mut Peer) -> shared::DocumentId {
    let (id, effects) = peer
        .client
        .create(shared::case::Case::new("Sam").into_document().unwrap());
    assert_eq!(register(relay, login, &id).await, 201);
    peer.run(effects).await;
    peer.until("the relay to store the case", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    id
}

/// `lead` adds `who` to the case's team; returns the relay's answer.
pub async fn invite(
    relay: &TestRelay,
    lead: &Login,
    case: &shared::DocumentId,
    who: &Login,
) -> HttpResponse {
    http(
        relay.addr,
        "POST",
        &format!("/api/cases/{case}/members"),
        Some(&lead.token),
        Some(&serde_json::json!({ "professional_id": who.id })),
    )
    .await
}

/// A WebSocket upgrade to `/sync` with this session's cookie (or none).
pub async fn ws_connect(
    url: &str,
    token: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().unwrap();
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("cookie", format!("tac_session={t}").parse().unwrap());
    }
    // Nagle off, as browsers do for WebSockets: small frames go out at once.
    tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map(|(ws, _)| ws)
}

/// The HTTP status of a refused upgrade, or 101 if it was accepted.
pub async fn upgrade_status(url: &str, token: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::Error;
    match ws_connect(url, token).await {
        Ok(_) => 101,
        Err(Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("upgrade failed oddly: {e}"),
    }
}

/// Our sync client over a real WebSocket, with an in-memory store.
pub struct Peer {
    pub client: SyncClient,
    pub store: HashMap<StorageKey, Vec<u8>>,
    pub events: Vec<Effect>,
    /// Sync messages received, per document.
    pub syncs: HashMap<shared::DocumentId, usize>,
    /// Answers to our `join` received: one per connection, however many shards serve it.
    pub peers: usize,
    ws: Ws,
}

impl Peer {
    /// Connects with `login`'s session; `client` must use its peer prefix ([`Login::client`]).
    pub async fn connect(url: &str, login: &Login, client: SyncClient) -> Peer {
        let ws = ws_connect(url, Some(&login.token))
            .await
            .expect("websocket connects");
        let mut peer = Peer {
            client,
            store: HashMap::new(),
            events: Vec::new(),
            syncs: HashMap::new(),
            peers: 0,
            ws,
        };
        let effects = peer.client.connected();
        peer.run(effects).await;
        peer.until("handshake", |p| p.client.is_ready()).await;
        peer
    }

    pub async fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send(frame) => {
                    let _ = self.ws.send(WsMessage::Binary(frame.into())).await;
                }
                Effect::Put { key, data } => {
                    self.store.insert(key, data);
                }
                Effect::Delete { key } => {
                    self.store.remove(&key);
                }
                other => self.events.push(other),
            }
        }
    }

    /// Processes frames until `done` holds; panics after 10 s or if the relay hangs up.
    pub async fn until(&mut self, what: &str, done: impl Fn(&mut Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(self) {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            match msg {
                Some(Ok(WsMessage::Binary(frame))) => self.receive(&frame).await,
                Some(Ok(_)) => {}
                other => panic!("relay closed the connection while waiting for {what}: {other:?}"),
            }
        }
    }

    async fn receive(&mut self, frame: &[u8]) {
        match shared::protocol::Message::decode(frame) {
            Ok(shared::protocol::Message::Sync { document_id, .. }) => {
                *self.syncs.entry(document_id).or_default() += 1;
            }
            Ok(shared::protocol::Message::Peer { .. }) => self.peers += 1,
            _ => {}
        }
        let effects = self.client.receive(frame).expect("valid frame from relay");
        self.run(effects).await;
    }

    /// Processes whatever arrives for `time`; panics if the relay hangs up.
    pub async fn idle(&mut self, time: Duration) {
        let deadline = tokio::time::Instant::now() + time;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(WsMessage::Binary(frame)))) => self.receive(&frame).await,
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("relay closed the connection: {other:?}"),
            }
        }
    }

    /// Processes whatever arrives for `time`; false once the relay has gone (never panics, for
    /// tests that kill the relay on purpose).
    pub async fn pump(&mut self, time: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + time;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(WsMessage::Binary(frame)))) => {
                    let Ok(effects) = self.client.receive(&frame) else {
                        return false;
                    };
                    self.run(effects).await;
                }
                Ok(Some(Ok(WsMessage::Close(_))) | None | Some(Err(_))) => return false,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Asks for a document and waits for the relay's answer: `Have` or `Unavailable`.
    pub async fn ask(&mut self, id: shared::DocumentId) -> shared::sync::Holding {
        let effects = self.client.request(id);
        self.run(effects).await;
        self.until("an answer", |p| {
            p.client.holding(&id) != Some(shared::sync::Holding::Requested)
        })
        .await;
        self.client.holding(&id).unwrap()
    }

    /// Waits for the relay to close the connection; returns the close code it gave, if any.
    pub async fn close_code(&mut self) -> Option<u16> {
        self.close_code_within(Duration::from_secs(10)).await
    }

    /// [`Peer::close_code`], waiting up to `time`.
    pub async fn close_code_within(&mut self, time: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + time;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the relay did not close the connection"),
                Ok(Some(Ok(WsMessage::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(None | Some(Err(_))) => return None,
                Ok(Some(Ok(WsMessage::Binary(frame)))) => self.answer(&frame).await,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Waits for the relay to close this connection.
    pub async fn closed_by_relay(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => return true,
                Ok(Some(Ok(WsMessage::Binary(frame)))) => self.answer(&frame).await,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Answers a frame as a real device would while waiting to be closed: the change that
    /// should get us closed may go out only in a later round of sync, after the relay's reply.
    async fn answer(&mut self, frame: &[u8]) {
        if let Ok(effects) = self.client.receive(frame) {
            self.run(effects).await;
        }
    }

    /// Sends a frame as is, bypassing the sync client (for hostile or forged frames).
    pub async fn send_raw(&mut self, frame: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(frame.into())).await;
    }

    pub async fn flush(&mut self, id: &shared::DocumentId) {
        let effects = self.client.flush(id);
        self.run(effects).await;
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
