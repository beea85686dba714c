//! Interop with the JavaScript automerge-repo client (npm, pinned in tools/package-lock.json):
//! a document goes JS → relay → our client and back, and survives a relay restart.
//!
//! The relay only syncs with signed-in professionals, so js-peer signs in too: it gets the
//! account from `TAC_EMAIL` / `TAC_PASSWORD`, signs in at `POST /api/session` on the relay's
//! HTTP address, sends the `tac_session` cookie on the WebSocket upgrade, uses a peer id starting
//! with the session's `peer_prefix`, and registers the documents it creates (`POST /api/cases`)
//! before syncing them. Here both sides are the same professional on two devices.

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ScalarValue, Value, ROOT};
use common::{register, Login, Peer, TestRelay, PASSWORD};
use shared::case::{Case, Field};
use shared::sync::Holding;
use shared::DocumentId;
use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("JS_PEER_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/interop/js-peer.mjs"))
}

/// Whether js-peer knows how to sign in (older copies connect anonymously, which the relay
/// now refuses).
fn js_peer_signs_in() -> bool {
    std::fs::read_to_string(script()).is_ok_and(|s| s.contains("TAC_EMAIL"))
}

fn js_peer(login: &(String, String), args: &[&str]) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = script();
    assert!(
        root.join("tools/node_modules/@automerge/automerge-repo")
            .exists(),
        "run scripts/setup.sh first (npm packages in tools/)"
    );
    let out = Command::new("node")
        .env("TAC_EMAIL", &login.0)
        .env("TAC_PASSWORD", &login.1)
        .arg(&script)
        .args(args)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "js-peer {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn string_at(doc: &impl ReadDoc, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(v) => Some(v.to_string()),
            _ => None,
        },
        (Value::Object(_), id) => doc.text(id).ok(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_cross_between_javascript_and_our_client_both_ways() {
    if !js_peer_signs_in() {
        eprintln!(
            "SKIPPED: tests/interop/js-peer.mjs does not sign in yet (reads no TAC_EMAIL); \
             the relay refuses anonymous sync"
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    // The JavaScript peer signs in with a password alone: its organisation is one whose system
    // administrator turned the authenticator-app code off (the default is on).
    let id = common::professional(
        &relay,
        "Test Agency",
        "interop",
        "interop@example.org",
        "practitioner",
    )
    .await;
    sqlx::query("UPDATE agencies SET second_factor_required = 0 WHERE id = (SELECT agency_id FROM professionals WHERE id = $1)")
        .bind(id)
        .execute(&relay.state.db)
        .await
        .unwrap();
    let me: Login = common::sign_in(relay.addr, "interop@example.org", PASSWORD).await;
    let account = ("interop@example.org".to_string(), PASSWORD.to_string());

    // JS creates; our client fetches it by id.
    let js_id = {
        let (url, account) = (url.clone(), account.clone());
        tokio::task::spawn_blocking(move || {
            js_peer(&account, &["create", &url, r#"{"title":"From JS"}"#])
        })
        .await
        .unwrap()
    };
    let js_id: DocumentId = js_id.parse().expect("js-peer prints a document id");
    let mut ours = Peer::connect(&url, &me, me.client("rust-a")).await;
    assert_eq!(ours.ask(js_id).await, Holding::Have, "the JS document");
    assert_eq!(
        string_at(ours.client.document(&js_id).unwrap(), "title").as_deref(),
        Some("From JS")
    );

    // We edit it; JS reads our edit.
    ours.client
        .document_mut(&js_id)
        .unwrap()
        .put(ROOT, "reply", "From Rust")
        .unwrap();
    ours.flush(&js_id).await;
    ours.until("relay to acknowledge", |p| {
        p.client.unsent_changes(&js_id) == 0
    })
    .await;
    let read = {
        let (url, id, account) = (url.clone(), js_id.to_string(), account.clone());
        tokio::task::spawn_blocking(move || js_peer(&account, &["read", &url, &id]))
            .await
            .unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(json["title"], "From JS");
    assert_eq!(json["reply"], "From Rust");

    // Our client creates a case; JS reads it, then appends while we are connected.
    let (case_id, effects) = ours
        .client
        .create(Case::new("Sam Smith").into_document().unwrap());
    assert_eq!(register(&relay, &me, &case_id).await, 201);
    ours.run(effects).await;
    Field::Concerns
        .write(ours.client.document_mut(&case_id).unwrap(), "Often tired.")
        .unwrap();
    ours.flush(&case_id).await;
    ours.until("relay to acknowledge the case", |p| {
        p.client.unsent_changes(&case_id) == 0
    })
    .await;
    let read = {
        let (url, id, account) = (url.clone(), case_id.to_string(), account.clone());
        tokio::task::spawn_blocking(move || js_peer(&account, &["read", &url, &id]))
            .await
            .unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(json["child_name"], "Sam Smith");
    assert_eq!(json["concerns"], "Often tired.");
    {
        let (url, id, account) = (url.clone(), case_id.to_string(), account.clone());
        tokio::task::spawn_blocking(move || {
            js_peer(&account, &["append", &url, &id, "setting", "Oak Primary"])
        })
        .await
        .unwrap();
    }
    ours.until("the JS edit to arrive live", |p| {
        p.client
            .document(&case_id)
            .and_then(|d| string_at(d, "setting"))
            .as_deref()
            == Some("Oak Primary")
    })
    .await;
    ours.close().await;

    // Restart the relay on the same data: JS still finds both documents.
    relay.stop().await;
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let read = tokio::task::spawn_blocking(move || {
        js_peer(&account, &["read", &url, &case_id.to_string()])
    })
    .await
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(json["setting"], "Oak Primary");
    assert_eq!(json["concerns"], "Often tired.");
    relay.stop().await;
}
