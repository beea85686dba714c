//! A full disk: the relay's data folder is on a small tmpfs the test mounts, and fills up while
//! a client writes. `/health` says so, sync connections are refused with the usual clear
//! message, nothing the client wrote is lost, and the relay recovers by itself once space
//! returns. Needs root (to mount); without it the test says it cannot run and fails in CI.

mod common;

use common::{http_get, practitioner, upgrade_status, Peer, TestRelay};
use shared::sync::Holding;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros until the filesystem refuses: returns the file.
fn fill(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
    path
}

async fn health(relay: &TestRelay) -> u16 {
    http_get(relay.addr, "/health").await.0
}

async fn eventually_health(relay: &TestRelay, want: u16, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while health(relay).await != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/health did not become {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_refuses_sync_loses_nothing_and_recovers() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&scratch.path().join("data"), "6m") else {
        let msg = "cannot mount a tmpfs here (needs root): the full-disk test did not run";
        assert!(std::env::var("CI").is_err(), "{msg}");
        eprintln!("{msg}");
        return;
    };
    let data = mount.0.clone();
    let relay = TestRelay::start(&data).await;
    let url = relay.ws_url();
    let login = practitioner(&relay, "writer").await;
    let mut writer = Peer::connect(&url, &login, login.client("laptop")).await;
    let id = common::stored_case(&relay, &login, &mut writer).await;
    assert_eq!(health(&relay).await, 200);

    // The disk fills; the writer goes on typing (a long note, so the database needs pages).
    let filler = fill(&data);
    use automerge::transaction::Transactable;
    for i in 0..20 {
        let doc = writer.client.document_mut(&id).unwrap();
        doc.put(automerge::ROOT, format!("note-{i}"), "x".repeat(4 * 1024))
            .unwrap();
        writer.flush(&id).await;
        if !writer.pump(Duration::from_millis(50)).await {
            break;
        }
    }
    eventually_health(&relay, 503, 20).await;
    let (_, body) = http_get(relay.addr, "/health").await;
    assert!(!body.trim().is_empty(), "health gives a reason");
    // New sync connections are refused with the clear message while it lasts.
    assert_eq!(upgrade_status(&url, Some(&login.token)).await, 503);
    let written = writer.client.document_mut(&id).unwrap().get_heads();
    writer.client.disconnected();

    // Space returns: the relay recovers by itself, and the writer's changes reach it.
    std::fs::remove_file(filler).unwrap();
    eventually_health(&relay, 200, 30).await;
    let mut writer = Peer::connect(&url, &login, writer.client).await;
    writer.flush(&id).await;
    writer
        .until("the changes to reach the relay", |p| {
            p.client.unsent_changes(&id) == 0
        })
        .await;

    // And they are on its disk: after a restart a new device gets them all.
    relay.stop().await;
    let relay = TestRelay::start(&data).await;
    let mut fresh = Peer::connect(&relay.ws_url(), &login, login.client("tablet")).await;
    assert_eq!(fresh.ask(id).await, Holding::Have);
    let has_all = |p: &mut Peer| {
        let doc = p.client.document_mut(&id).unwrap();
        written.iter().all(|h| doc.get_change_by_hash(h).is_some())
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !has_all(&mut fresh) && tokio::time::Instant::now() < deadline {
        fresh.pump(Duration::from_millis(100)).await;
    }
    if !has_all(&mut fresh) {
        panic!("{}", where_are(&relay, &id, &written, &mut fresh).await);
    }
    relay.stop().await;
}

/// Why a fresh device lacks some changes: whether the database holds them at all.
async fn where_are(
    relay: &TestRelay,
    id: &shared::DocumentId,
    written: &[automerge::ChangeHash],
    fresh: &mut Peer,
) -> String {
    let pool = sqlx::AnyPool::connect(&relay.database_url).await.unwrap();
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT key, data FROM documents WHERE key LIKE $1")
            .bind(format!("{id}/%"))
            .fetch_all(&pool)
            .await
            .unwrap();
    // Stored sealed with the case's key (server::sealing).
    let keys = server::sealing::CaseKeys::new(pool.clone());
    let mut stored = automerge::AutoCommit::new();
    for (key, data) in &rows {
        if let Ok(Ok(plain)) = keys.open(key, data.clone()).await {
            let _ = stored.load_incremental(&plain);
        }
    }
    let doc = fresh.client.document_mut(id).unwrap();
    let missing: Vec<_> = written
        .iter()
        .filter(|h| doc.get_change_by_hash(h).is_none())
        .collect();
    let in_db = missing
        .iter()
        .filter(|h| stored.get_change_by_hash(h).is_some())
        .count();
    let keys: Vec<_> = rows
        .iter()
        .map(|(k, d)| format!("{k} ({} B)", d.len()))
        .collect();
    format!(
        "fresh device lacks {} of {} written heads; {in_db} of those are in the database; \
         fresh heads {:?}; database heads {:?}; keys {keys:?}",
        missing.len(),
        written.len(),
        doc.get_heads(),
        stored.get_heads(),
    )
}
