//! Shared test helpers: the real relay on a loopback port, and a peer that drives our sync
//! client core over a real WebSocket.
#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use server::config::Config;
use server::AppState;
use shared::storage_key::StorageKey;
use shared::sync::{Effect, SyncClient};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
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
        let config = Config::from_args(
            [
                "--bind".to_string(),
                "127.0.0.1:0".into(),
                "--data-dir".into(),
                data_dir.display().to_string(),
            ],
            |_| None,
        )
        .unwrap();
        let (router, state) = server::build(&config).await.expect("relay builds");
        let listener = tokio::net::TcpListener::bind(config.bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
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

    /// Stops accepting and stops the sync engine (which finishes its storage writes).
    pub async fn stop(self) {
        self.server.abort();
        self.state.repo.stop().await;
    }
}

/// A GET over plain HTTP/1.1, returning (status, body); enough for `/health`.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// Our sync client over a real WebSocket, with an in-memory store.
pub struct Peer {
    pub client: SyncClient,
    pub store: HashMap<StorageKey, Vec<u8>>,
    pub events: Vec<Effect>,
    ws: Ws,
}

impl Peer {
    pub async fn connect(url: &str, client: SyncClient) -> Peer {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        let mut peer = Peer {
            client,
            store: HashMap::new(),
            events: Vec::new(),
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
                Some(Ok(WsMessage::Binary(frame))) => {
                    let effects = self.client.receive(&frame).expect("valid frame from relay");
                    self.run(effects).await;
                }
                Some(Ok(_)) => {}
                other => panic!("relay closed the connection while waiting for {what}: {other:?}"),
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
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn flush(&mut self, id: &shared::DocumentId) {
        let effects = self.client.flush(id);
        self.run(effects).await;
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
