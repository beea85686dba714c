//! TAC Planner's shared core: the case schema and the sync protocol, with no I/O.
//!
//! Both the browser app and the relay depend on this crate, so the shape of a case and the
//! bytes on the wire are defined once. Nothing here touches a socket, a disk or a clock:
//! the browser's WebSocket and IndexedDB, and the relay's SQL, are thin adapters around it,
//! which keeps everything here testable natively and fast.
//!
//! - [`document_id`]: automerge-repo document ids (`automerge:<bs58check>`).
//! - [`protocol`]: the automerge-repo WebSocket protocol v1 messages, CBOR encoded.
//! - [`storage_key`]: automerge-repo's storage key layout (chunks, snapshots, sync state).
//! - [`sync`]: the client side of the protocol as a sans-IO state machine.
//! - [`case`]: the first, thin case schema (version 1), kept to read and migrate old documents.
//! - [`record`]: the case record (version 2): family, consent, assessment, plan, meetings, step-up/down, escalation, closure.
//! - [`text`]: keeping the caret in place when others edit the same text.
//! - [`untrusted`]: Automerge bytes from another party, checked before use.
//! - [`authorship`]: who wrote a change, as the relay vouches for it.
//! - [`caseload`]: a case as a caseload lists it, judged against today.
//! - [`documents`]: documents that leave the system (the family's plan), as structured text.

pub mod api;
pub mod authorship;
pub mod case;
pub mod caseload;
pub mod document_id;
pub mod documents;
pub mod presence;
pub mod protocol;
pub mod record;
pub mod storage_key;
pub mod sync;
pub mod text;
pub mod untrusted;

pub use document_id::DocumentId;
