//! samod's storage on the relay's database (SQLite, or PostgreSQL when `TAC_TEST_POSTGRES` is
//! set): writes keep their order, ranges read back whole.

mod common;

use samod::storage::{Storage, StorageKey};
use server::storage::SqlStorage;
use std::sync::Arc;

fn key(parts: &[&str]) -> StorageKey {
    StorageKey::from_parts(parts.iter().copied()).unwrap()
}

async fn open(dir: &std::path::Path) -> SqlStorage {
    let url = match common::fresh_postgres_database().await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.join("t.db").display()),
    };
    SqlStorage::open(&url, Arc::default()).await.unwrap()
}

/// Writes that meet in one batch land in the order they were made, whatever their kind.
#[tokio::test]
async fn a_batch_of_puts_and_deletes_keeps_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let (gone, back, many) = (key(&["d", "gone"]), key(&["d", "back"]), 300);
    let twice = key(&["t", "twice"]);
    store.put(back.clone(), b"first".to_vec()).await;
    // Queued together: each `write` sends when first polled, and join_all polls in order.
    let mut writes: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = vec![
        Box::pin(store.put(gone.clone(), b"x".to_vec())),
        Box::pin(store.delete(gone.clone())),
        Box::pin(store.delete(back.clone())),
        Box::pin(store.put(back.clone(), b"second".to_vec())),
        // The same key twice in one batch: the last one wins.
        Box::pin(store.put(twice.clone(), b"one".to_vec())),
        Box::pin(store.put(twice.clone(), b"two".to_vec())),
    ];
    for i in 0..many {
        let k = key(&["d", "many", &i.to_string()]);
        writes.push(Box::pin(store.put(k, vec![i as u8])));
    }
    // Neighbours that sort inside the range in a locale's collation (which skips
    // punctuation) but not byte by byte: a range read must leave them out.
    // Document ids are mixed case, so also another id that differs only in case.
    for near in [
        &["d", "many-more", "1"][..],
        &["d", "many.x"],
        &["d", "manyz"],
        &["d", "MANY", "1"],
        &["D", "many", "1"],
    ] {
        writes.push(Box::pin(store.put(key(near), b"near".to_vec())));
    }
    futures::future::join_all(writes).await;
    assert_eq!(store.load(gone).await, None);
    assert_eq!(store.load(back).await, Some(b"second".to_vec()));
    assert_eq!(store.load(twice).await, Some(b"two".to_vec()));
    let all = store.load_range(key(&["d", "many"])).await;
    assert_eq!(all.len(), many, "only keys under d/many");
    assert_eq!(all[&key(&["d", "many", "299"])], vec![299_usize as u8]);
    assert_eq!(store.held_count(), 0);
    assert_eq!(store.load_range(key(&["D"])).await.len(), 1);
}
