//! A real OpenID provider for sign-in tests: PyPI's `oidc-provider-mock`, installed by
//! `scripts/setup.sh --tests` into `tools/oidc-provider/venv`, run on a free loopback port.

use crate::{free_port, repo_root};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Provider {
    pub port: u16,
    child: Child,
}

impl Provider {
    /// Starts it and waits until it answers with its discovery document.
    pub fn start() -> Provider {
        let bin = repo_root().join("tools/oidc-provider/venv/bin/oidc-provider-mock");
        assert!(
            bin.exists(),
            "no {}: run scripts/setup.sh --tests",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--require-nonce")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the provider starts");
        let provider = Provider { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while provider
            .request("GET", "/.well-known/openid-configuration", None)
            .0
            != 200
        {
            assert!(Instant::now() < deadline, "the provider did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        provider
    }

    /// Its issuer: the address the relay is configured with.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The claims the provider gives for a subject (the person's account there).
    pub fn set_user(&self, sub: &str, claims: serde_json::Value) {
        let (status, _) = self.request("PUT", &format!("/users/{sub}"), Some(claims.to_string()));
        assert_eq!(status, 204, "setting the provider's user {sub}");
    }

    fn request(&self, method: &str, path: &str, body: Option<String>) -> (u16, String) {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        if s.write_all(head.as_bytes()).is_err() || s.write_all(body.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out)
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
