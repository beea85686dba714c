//! Accounts for end-to-end tests, made through the relay's own API as an administrator would.

use crate::Relay;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_EMAIL: &str = "admin@council.test";
pub const COUNCIL: &str = "Council Early Help";

/// Makes the first administrator ([`ADMIN_EMAIL`] in [`COUNCIL`], password [`PASSWORD`]) with
/// the relay's own `create-admin` command, as the README says, in a data folder.
pub fn create_admin(relay_bin: &Path, data_dir: &Path, flags: &[String]) {
    let status = Command::new(relay_bin)
        .args(["create-admin", "--agency", COUNCIL, "--name", "Ada Admin"])
        .args(["--email", ADMIN_EMAIL])
        .arg("--data-dir")
        .arg(data_dir)
        .args(flags)
        .env("TAC_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .expect("create-admin runs");
    assert!(status.success(), "create-admin failed");
}

/// A signed-in session on the relay's API.
pub struct Api {
    port: u16,
    cookie: String,
    pub me: Value,
}

impl Api {
    pub fn sign_in(relay: &Relay, email: &str) -> Api {
        Api::sign_in_at(relay.port, email)
    }

    /// Signs in to a relay listening on this loopback port.
    pub fn sign_in_at(port: u16, email: &str) -> Api {
        let (mut status, mut headers, mut body) = request(
            port,
            "POST",
            "/api/session",
            None,
            Some(json!({ "email": email, "password": PASSWORD })),
        );
        if status == 202 {
            // A code from the authenticator app is needed too (administrators).
            let needed: Value = serde_json::from_str(&body).expect("JSON");
            if let Some(secret) = needed["set_up"]["secret"].as_str() {
                authenticator::add(port, email, secret);
            }
            let code = authenticator::next_code(port, email);
            (status, headers, body) = request(
                port,
                "POST",
                "/api/session/code",
                None,
                Some(json!({ "pending": needed["pending"], "code": code })),
            );
            assert_eq!(status, 200, "code for {email}: {body}");
            let accepted: Value = serde_json::from_str(&body).expect("JSON");
            body = accepted["me"].to_string();
        }
        assert_eq!(status, 200, "sign in as {email}: {body}");
        let cookie = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("set-cookie")
                    .then(|| v.trim().to_string())
            })
            .and_then(|c| c.split(';').next().map(str::to_string))
            .expect("a session cookie");
        Api {
            port,
            cookie,
            me: serde_json::from_str(&body).expect("JSON"),
        }
    }

    /// The `Cookie` header value that carries this session (`tac_session=…`).
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The signed-in professional's id.
    pub fn id(&self) -> i64 {
        self.me["id"].as_i64().expect("a professional id")
    }

    /// What every sync peer id of this session must start with.
    pub fn peer_prefix(&self) -> &str {
        self.me["peer_prefix"].as_str().expect("a peer prefix")
    }

    pub fn admin(relay: &Relay) -> Api {
        Api::sign_in(relay, ADMIN_EMAIL)
    }

    /// (status, JSON body or Null).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, text) = request(self.port, method, path, Some(&self.cookie), body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The agency's id, making it if needed.
    pub fn agency(&self, name: &str) -> i64 {
        let (_, list) = self.call("GET", "/api/agencies", None);
        if let Some(a) = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == name)
        {
            return a["id"].as_i64().expect("an agency id");
        }
        let (status, made) = self.call("POST", "/api/agencies", Some(json!({ "name": name })));
        assert_eq!(status, 201, "making agency {name}: {made}");
        made["id"].as_i64().expect("an agency id")
    }

    /// Adds a practitioner in an agency (made if needed); returns their id.
    pub fn add_practitioner(&self, name: &str, email: &str, agency: &str) -> i64 {
        let agency_id = self.agency(agency);
        let (status, body) = self.call(
            "POST",
            "/api/professionals",
            Some(
                json!({ "name": name, "email": email, "agency_id": agency_id,
                         "role": "practitioner", "password": PASSWORD }),
            ),
        );
        assert_eq!(status, 201, "adding {email}: {body}");
        body["id"].as_i64().expect("a professional id")
    }
}

/// One HTTP/1.1 request to the relay on 127.0.0.1: (status, raw headers, body).
fn request(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("relay reachable");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    head.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The authenticator app of everyone the tests sign in as: their keys, by relay port and email,
/// and the last 30-second step each used. A code is accepted once, so a quick second sign-in
/// takes the next step's code (the relay allows one step of clock drift) or waits for it.
pub mod authenticator {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    /// (key, last step used) by (relay port, email).
    type Keys = HashMap<(u16, String), (String, u64)>;
    static KEYS: Mutex<Option<Keys>> = Mutex::new(None);
    /// Relays that share another's database (and so its accounts), by port.
    static SAME: Mutex<Vec<(u16, u16)>> = Mutex::new(Vec::new());

    /// The relay on `port` keeps its accounts in the database of the relay on `main`: one
    /// app serves both (relays serving together).
    pub fn same_accounts(port: u16, main: u16) {
        SAME.lock().unwrap().push((port, main));
    }

    fn main_port(port: u16) -> u16 {
        SAME.lock()
            .unwrap()
            .iter()
            .find(|(p, _)| *p == port)
            .map_or(port, |(_, m)| *m)
    }

    pub fn add(port: u16, email: &str, secret: &str) {
        let secret: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
        KEYS.lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert((main_port(port), email.to_lowercase()), (secret, 0));
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

    /// The key and the next unused step of this person's app on this relay.
    fn take_step(port: u16, email: &str) -> (String, u64) {
        let mut keys = KEYS.lock().unwrap();
        let entry = keys
            .get_or_insert_with(HashMap::new)
            .get_mut(&(main_port(port), email.to_lowercase()))
            .expect("an authenticator set up for this person");
        // One step back is still accepted (clock drift), so three quick sign-ins need no
        // wait; but only early in a step, so the code has 20 s or more to reach the relay.
        let t = now();
        let earliest = if t % 30 < 10 { t / 30 - 1 } else { t / 30 };
        let step = earliest.max(entry.1 + 1);
        entry.1 = step;
        (entry.0.clone(), step)
    }

    /// A code not used before on this relay (waits, briefly, if three were just used).
    pub fn next_code(port: u16, email: &str) -> String {
        let (secret, step) = take_step(port, email);
        while step > now() / 30 + 1 {
            std::thread::sleep(Duration::from_millis(500));
        }
        code_at(&secret, step)
    }

    /// [`next_code`] for async tests: waits without holding up the runtime.
    pub async fn next_code_async(port: u16, email: &str) -> String {
        let (secret, step) = take_step(port, email);
        while step > now() / 30 + 1 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        code_at(&secret, step)
    }
}
