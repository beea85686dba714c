//! The device's copy of every case, in IndexedDB (through `rexie`).
//!
//! Chunks and sync state are stored under automerge-repo's keys (flattened with `/`), so the
//! layout matches the relay's. A small summary per case (the child's name and what needs doing)
//! lets the caseload open without loading every document.

use js_sys::Uint8Array;
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use shared::caseload::CaseRow;
use shared::storage_key::StorageKey;
use shared::DocumentId;
use wasm_bindgen::JsValue;

const DB_NAME: &str = "tac-planner";
const CHUNKS: &str = "chunks";
const CASES: &str = "cases";
const META: &str = "meta";

/// Why the device could not store or read something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("This device has run out of space for TAC Planner. Your latest changes are only in this open tab: free up space, then keep working.")]
    Full,
    #[error("This browser could not save to its storage ({0}). Your latest changes are only in this open tab.")]
    Failed(String),
    /// A case set aside (see [`crate::damaged`]): who it is about, and its number.
    #[error("{0} cannot be opened on this device because what was saved or received for it is damaged. It has been set aside and nothing has been deleted. Your other cases are not affected. Tell your system administrator, quoting case number {1}.")]
    Damaged(String, String),
}

impl From<rexie::Error> for StoreError {
    fn from(e: rexie::Error) -> Self {
        let text = format!("{e:?}");
        if text.contains("Quota") {
            StoreError::Full
        } else {
            StoreError::Failed(e.to_string())
        }
    }
}

/// A case as the caseload shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    pub id: DocumentId,
    pub child_name: String,
    /// What needs doing, taken from the case when it last changed; `None` until first read.
    pub row: Option<CaseRow>,
}

/// A summary as stored: JSON (earlier versions stored the child's name alone, which still
/// reads).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSummary {
    child_name: String,
    row: Option<CaseRow>,
}

impl StoredSummary {
    fn read(value: String) -> StoredSummary {
        if let Ok(stored) = serde_json::from_str::<StoredSummary>(&value) {
            return stored;
        }
        // A row this version cannot read is taken again from the case; the name still shows.
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&value) {
            if json.is_object() {
                return StoredSummary {
                    child_name: json["child_name"].as_str().unwrap_or_default().to_string(),
                    row: None,
                };
            }
        }
        StoredSummary {
            child_name: value,
            row: None,
        }
    }
}

/// One change to storage, applied with others in a single transaction.
pub enum Write {
    Put(StorageKey, Vec<u8>),
    Delete(StorageKey),
}

/// The open database.
pub struct Store {
    db: Rexie,
    /// A second connection to the same database, for [`Store::apply`].
    writer: idb::Database,
}

impl Store {
    pub async fn open() -> Result<Store, StoreError> {
        Self::open_named(DB_NAME).await
    }

    /// Opens a database by name (tests use their own).
    pub async fn open_named(name: &str) -> Result<Store, StoreError> {
        let db = Rexie::builder(name)
            .version(1)
            .add_object_store(ObjectStore::new(CHUNKS))
            .add_object_store(ObjectStore::new(CASES))
            .add_object_store(ObjectStore::new(META))
            .build()
            .await?;
        let writer = idb::Factory::new()
            .and_then(|f| f.open(name, None))
            .map_err(|e| StoreError::Failed(e.to_string()))?
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(Store { db, writer })
    }

    /// This device's storage id, made once and kept, so the relay and we can remember what
    /// we last agreed about each case.
    pub async fn storage_id(&self) -> Result<String, StoreError> {
        let key = JsValue::from_str(&StorageKey::storage_id().flat());
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        let meta = tx.store(META)?;
        let id = match meta.get(key.clone()).await?.and_then(|v| v.as_string()) {
            Some(id) => id,
            None => {
                let id = DocumentId::random().to_string();
                meta.put(&JsValue::from_str(&id), Some(&key)).await?;
                id
            }
        };
        tx.done().await?;
        Ok(id)
    }

    /// Applies writes atomically: either all are stored or none. Every request is issued at
    /// once, in order, so a write started as the page is hidden is not cut short. A refusal
    /// for want of space comes only as the transaction's error when it aborts, which rexie
    /// does not show, so these go through `idb` (which rexie is built on) directly.
    pub async fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        let failed = |e: idb::Error| StoreError::Failed(e.to_string());
        let tx = self
            .writer
            .transaction(&[CHUNKS], idb::TransactionMode::ReadWrite)
            .map_err(failed)?;
        let chunks = tx.object_store(CHUNKS).map_err(failed)?;
        for w in writes {
            match w {
                Write::Put(key, data) => {
                    let value: JsValue = Uint8Array::from(data.as_slice()).into();
                    chunks
                        .put(&value, Some(&JsValue::from_str(&key.flat())))
                        .map_err(failed)?;
                }
                Write::Delete(key) => {
                    chunks
                        .delete(JsValue::from_str(&key.flat()))
                        .map_err(failed)?;
                }
            }
        }
        let raw: web_sys::IdbTransaction = tx.into();
        let result = idb::Transaction::from(raw.clone()).await;
        if matches!(result, Ok(r) if r.is_committed()) {
            return Ok(());
        }
        Err(match raw.error() {
            Some(e) if e.name() == "QuotaExceededError" => StoreError::Full,
            Some(e) => StoreError::Failed(e.name()),
            None => StoreError::Failed("the write was not committed".into()),
        })
    }

    /// Every key stored for one document, with its bytes.
    pub async fn load_document(
        &self,
        id: &DocumentId,
    ) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
        let range = document_keys(id)?;
        let tx = self.db.transaction(&[CHUNKS], TransactionMode::ReadOnly)?;
        let rows = tx
            .store(CHUNKS)?
            .scan(Some(range), None, None, None)
            .await?;
        // A read-only transaction has nothing to commit: the rows are here, so waiting for it to
        // complete only adds a turn of the browser's event loop to opening a case.
        drop(tx);
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| {
                let key = StorageKey::from_flat(&k.as_string()?);
                Some((key, Uint8Array::new(&v).to_vec()))
            })
            .collect())
    }

    pub async fn put_summary(&self, summary: &CaseSummary) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[CASES], TransactionMode::ReadWrite)?;
        let stored = StoredSummary {
            child_name: summary.child_name.clone(),
            row: summary.row.clone(),
        };
        let json = serde_json::to_string(&stored).map_err(|e| StoreError::Failed(e.to_string()))?;
        tx.store(CASES)?
            .put(
                &JsValue::from_str(&json),
                Some(&JsValue::from_str(&summary.id.to_string())),
            )
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// The cases on this device, by child's name.
    pub async fn list_cases(&self) -> Result<Vec<CaseSummary>, StoreError> {
        let tx = self.db.transaction(&[CASES], TransactionMode::ReadOnly)?;
        let rows = tx.store(CASES)?.scan(None, None, None, None).await?;
        tx.done().await?;
        let mut cases: Vec<CaseSummary> = rows
            .into_iter()
            .filter_map(|(k, v)| {
                let value = v.as_string().unwrap_or_default();
                let stored = StoredSummary::read(value);
                Some(CaseSummary {
                    id: k.as_string()?.parse().ok()?,
                    child_name: stored.child_name,
                    row: stored.row,
                })
            })
            .collect();
        cases.sort_by_key(|c| c.child_name.to_lowercase());
        Ok(cases)
    }

    /// A small value this device keeps for itself (who signed in, which cases the relay knows).
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let value = tx.store(META)?.get(JsValue::from_str(key)).await?;
        tx.done().await?;
        Ok(value.and_then(|v| v.as_string()))
    }

    pub async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        tx.store(META)?
            .put(&JsValue::from_str(value), Some(&JsValue::from_str(key)))
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// Removes one case from this device, its chunks, sync states and summary at once.
    pub async fn remove_case(&self, id: &DocumentId) -> Result<(), StoreError> {
        let range = document_keys(id)?;
        let tx = self
            .db
            .transaction(&[CHUNKS, CASES], TransactionMode::ReadWrite)?;
        tx.store(CHUNKS)?.delete(range.into()).await?;
        tx.store(CASES)?
            .delete(JsValue::from_str(&id.to_string()))
            .await?;
        let result = tx.done().await?;
        if result.is_committed() {
            Ok(())
        } else {
            Err(StoreError::Failed("the case could not be removed".into()))
        }
    }

    /// Removes every case, summary and note of who signed in from this device, at once.
    pub async fn wipe(&self) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[CHUNKS, CASES, META], TransactionMode::ReadWrite)?;
        for name in [CHUNKS, CASES, META] {
            tx.store(name)?.clear().await?;
        }
        let result = tx.done().await?;
        if result.is_committed() {
            Ok(())
        } else {
            Err(StoreError::Failed("the device could not be cleared".into()))
        }
    }
}

/// Every key stored for one document: those under `doc/`, which sort between "doc/" and "doc0"
/// ('0' follows '/').
fn document_keys(id: &DocumentId) -> Result<KeyRange, StoreError> {
    let prefix = StorageKey::document_prefix(id).flat();
    KeyRange::bound(
        &JsValue::from_str(&format!("{prefix}/")),
        &JsValue::from_str(&format!("{prefix}0")),
        Some(false),
        Some(true),
    )
    .map_err(|e| StoreError::Failed(e.to_string()))
}
