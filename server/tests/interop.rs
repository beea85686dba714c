//! Interop with the JavaScript automerge-repo client (npm, pinned in tools/package-lock.json):
//! a document goes JS → relay → our client and back, and survives a relay restart.

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ScalarValue, Value, ROOT};
use common::{Peer, TestRelay};
use shared::case::{Case, Field};
use shared::sync::{Holding, SyncClient};
use shared::DocumentId;
use std::path::PathBuf;
use std::process::Command;

fn js_peer(args: &[&str]) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tests/interop/js-peer.mjs");
    assert!(
        root.join("tools/node_modules/@automerge/automerge-repo")
            .exists(),
        "run scripts/setup.sh first (npm packages in tools/)"
    );
    let out = Command::new("node")
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
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();

    // JS creates; our client fetches it by id.
    let js_id = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || js_peer(&["create", &url, r#"{"title":"From JS"}"#]))
            .await
            .unwrap()
    };
    let js_id: DocumentId = js_id.parse().expect("js-peer prints a document id");
    let mut ours = Peer::connect(&url, SyncClient::new("rust-a".into(), "store-a".into())).await;
    let effects = ours.client.request(js_id);
    ours.run(effects).await;
    ours.until("the JS document", |p| {
        p.client.holding(&js_id) == Some(Holding::Have)
    })
    .await;
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
        let (url, id) = (url.clone(), js_id.to_string());
        tokio::task::spawn_blocking(move || js_peer(&["read", &url, &id]))
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
        let (url, id) = (url.clone(), case_id.to_string());
        tokio::task::spawn_blocking(move || js_peer(&["read", &url, &id]))
            .await
            .unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(json["child_name"], "Sam Smith");
    assert_eq!(json["concerns"], "Often tired.");
    {
        let (url, id) = (url.clone(), case_id.to_string());
        tokio::task::spawn_blocking(move || {
            js_peer(&["append", &url, &id, "setting", "Oak Primary"])
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
    let read = tokio::task::spawn_blocking(move || js_peer(&["read", &url, &case_id.to_string()]))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(json["setting"], "Oak Primary");
    assert_eq!(json["concerns"], "Often tired.");
    relay.stop().await;
}
