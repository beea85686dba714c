//! The automerge-repo WebSocket protocol, version 1: what travels in each binary frame.
//!
//! Every frame is one CBOR map with a `type` key. We write the same maps as automerge-repo
//! and samod, and read them leniently where the JavaScript encoder varies (numbers as floats,
//! `undefined` for absent values, unknown keys), so either can be our peer.

use crate::DocumentId;
use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

/// The only protocol version this code speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// The largest frame either side accepts. A case with years of history is well under 1 MiB;
/// anything near this is a bug or an attack.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// What a peer says about itself during the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerMetadata {
    /// Identifies the peer's storage, so sync state can be kept per storage across sessions.
    pub storage_id: Option<String>,
    /// True when the peer will not come back with the same storage (nothing worth remembering).
    pub is_ephemeral: bool,
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Opens the handshake (sent by the connecting side).
    Join {
        sender_id: String,
        supported_protocol_versions: Vec<String>,
        metadata: Option<PeerMetadata>,
    },
    /// Answers `Join`.
    Peer {
        sender_id: String,
        target_id: String,
        selected_protocol_version: String,
        metadata: Option<PeerMetadata>,
    },
    /// The sender is about to disconnect.
    Leave { sender_id: String },
    /// "I don't have this document (or not all of it): send it if you have it."
    Request {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// An automerge sync message for one document.
    Sync {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// The sender does not have the document (or may not share it).
    DocUnavailable {
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
    },
    /// Data about a document that is not stored, e.g. who is looking at it.
    Ephemeral {
        sender_id: String,
        target_id: String,
        count: u64,
        session_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    },
    /// The sender found a protocol error and will close the connection.
    Error { message: String },
    /// A message this client has no use for (e.g. `remote-heads-changed`); kept by name only.
    Ignored { kind: String },
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the frame is not a valid CBOR map: {0}")]
    Cbor(String),
    #[error("the frame has no message type")]
    MissingType,
    #[error("the {kind} message has no {field}")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("the document id is not valid")]
    BadDocumentId,
    #[error("the frame is {0} bytes, over the limit")]
    TooLarge(usize),
    #[error("the frame has bytes after its message")]
    TrailingBytes,
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        DecodeError::Cbor(e.to_string())
    }
}

/// Fields of a frame, collected before we know which message it is.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    selected_protocol_version: Option<String>,
    message: Option<String>,
    session_id: Option<String>,
    document_id: Option<Result<DocumentId, DecodeError>>,
    supported_protocol_versions: Option<Vec<String>>,
    data: Option<Vec<u8>>,
    count: Option<u64>,
    metadata: Option<PeerMetadata>,
}

impl Message {
    /// A `request` (asking for a document we lack) or a `sync` message carrying automerge
    /// sync data for one document.
    pub fn document_sync(
        request: bool,
        sender_id: String,
        target_id: String,
        document_id: DocumentId,
        data: Vec<u8>,
    ) -> Message {
        if request {
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        } else {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            }
        }
    }

    /// Reads one frame. Never panics, whatever the bytes.
    pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(DecodeError::TooLarge(frame.len()));
        }
        let mut d = Decoder::new(frame);
        let len = d
            .map()?
            .ok_or_else(|| DecodeError::Cbor("indefinite-length map".into()))?;
        let mut f = Fields::default();
        for _ in 0..len {
            let key = d.str()?;
            match key {
                "type" => f.kind = Some(d.str()?.to_string()),
                "senderId" => f.sender_id = Some(d.str()?.to_string()),
                "targetId" => f.target_id = Some(d.str()?.to_string()),
                "selectedProtocolVersion" => {
                    f.selected_protocol_version = Some(d.str()?.to_string())
                }
                "message" => f.message = Some(d.str()?.to_string()),
                "sessionId" => f.session_id = Some(d.str()?.to_string()),
                "documentId" => f.document_id = Some(read_document_id(&mut d)?),
                "supportedProtocolVersions" => {
                    f.supported_protocol_versions = Some(read_strings(&mut d)?)
                }
                "data" => f.data = Some(d.bytes()?.to_vec()),
                "count" => f.count = Some(read_number(&mut d)?),
                "peerMetadata" | "metadata" => f.metadata = read_metadata(&mut d)?,
                _ => d.skip()?,
            }
        }
        if d.position() != frame.len() {
            return Err(DecodeError::TrailingBytes);
        }
        f.into_message()
    }

    /// Writes the frame for this message.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing to a Vec cannot fail, so the results below carry no information.
        let _ = self.write(&mut e);
        e.into_writer()
    }

    fn write(
        &self,
        e: &mut Encoder<Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        match self {
            Message::Join {
                sender_id,
                supported_protocol_versions,
                metadata,
            } => {
                e.map(3 + u64::from(metadata.is_some()))?;
                e.str("type")?.str("join")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("supportedProtocolVersions")?
                    .array(supported_protocol_versions.len() as u64)?;
                for v in supported_protocol_versions {
                    e.str(v)?;
                }
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    write_metadata(e, m)?;
                }
            }
            Message::Peer {
                sender_id,
                target_id,
                selected_protocol_version,
                metadata,
            } => {
                e.map(4 + u64::from(metadata.is_some()))?;
                e.str("type")?.str("peer")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("selectedProtocolVersion")?
                    .str(selected_protocol_version)?;
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    write_metadata(e, m)?;
                }
            }
            Message::Leave { sender_id } => {
                e.map(2)?;
                e.str("type")?.str("leave")?;
                e.str("senderId")?.str(sender_id)?;
            }
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
            | Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            } => {
                let kind = if matches!(self, Message::Request { .. }) {
                    "request"
                } else {
                    "sync"
                };
                e.map(5)?;
                e.str("type")?.str(kind)?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
                e.str("data")?.bytes(data)?;
            }
            Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
            } => {
                e.map(4)?;
                e.str("type")?.str("doc-unavailable")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
            }
            Message::Ephemeral {
                sender_id,
                target_id,
                count,
                session_id,
                document_id,
                data,
            } => {
                e.map(7)?;
                e.str("type")?.str("ephemeral")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("count")?.u64(*count)?;
                e.str("sessionId")?.str(session_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
                e.str("data")?.bytes(data)?;
            }
            Message::Error { message } => {
                e.map(2)?;
                e.str("type")?.str("error")?;
                e.str("message")?.str(message)?;
            }
            Message::Ignored { kind } => {
                e.map(1)?;
                e.str("type")?.str(kind)?;
            }
        }
        Ok(())
    }
}

impl Fields {
    fn into_message(self) -> Result<Message, DecodeError> {
        let kind = self.kind.clone().ok_or(DecodeError::MissingType)?;
        let need = |v: Option<String>, kind: &'static str, field: &'static str| {
            v.ok_or(DecodeError::MissingField { kind, field })
        };
        let doc = |v: Option<Result<DocumentId, DecodeError>>, kind: &'static str| match v {
            Some(r) => r,
            None => Err(DecodeError::MissingField {
                kind,
                field: "documentId",
            }),
        };
        Ok(match kind.as_str() {
            "join" => Message::Join {
                sender_id: need(self.sender_id, "join", "senderId")?,
                supported_protocol_versions: self.supported_protocol_versions.ok_or(
                    DecodeError::MissingField {
                        kind: "join",
                        field: "supportedProtocolVersions",
                    },
                )?,
                metadata: self.metadata,
            },
            "peer" => Message::Peer {
                sender_id: need(self.sender_id, "peer", "senderId")?,
                target_id: need(self.target_id, "peer", "targetId")?,
                selected_protocol_version: need(
                    self.selected_protocol_version,
                    "peer",
                    "selectedProtocolVersion",
                )?,
                metadata: self.metadata,
            },
            "leave" => Message::Leave {
                sender_id: need(self.sender_id, "leave", "senderId")?,
            },
            "request" | "sync" => {
                let k = if kind == "request" { "request" } else { "sync" };
                let sender_id = need(self.sender_id, k, "senderId")?;
                let target_id = need(self.target_id, k, "targetId")?;
                let document_id = doc(self.document_id, k)?;
                let data = self.data.ok_or(DecodeError::MissingField {
                    kind: k,
                    field: "data",
                })?;
                Message::document_sync(k == "request", sender_id, target_id, document_id, data)
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: need(self.sender_id, "doc-unavailable", "senderId")?,
                target_id: need(self.target_id, "doc-unavailable", "targetId")?,
                document_id: doc(self.document_id, "doc-unavailable")?,
            },
            "ephemeral" => Message::Ephemeral {
                sender_id: need(self.sender_id, "ephemeral", "senderId")?,
                target_id: need(self.target_id, "ephemeral", "targetId")?,
                count: self.count.ok_or(DecodeError::MissingField {
                    kind: "ephemeral",
                    field: "count",
                })?,
                session_id: need(self.session_id, "ephemeral", "sessionId")?,
                document_id: doc(self.document_id, "ephemeral")?,
                data: self.data.ok_or(DecodeError::MissingField {
                    kind: "ephemeral",
                    field: "data",
                })?,
            },
            "error" => Message::Error {
                message: need(self.message, "error", "message")?,
            },
            _ => Message::Ignored { kind },
        })
    }
}

/// automerge-repo sends document ids as strings; very old peers sent raw bytes.
fn read_document_id(d: &mut Decoder) -> Result<Result<DocumentId, DecodeError>, DecodeError> {
    Ok(match d.datatype()? {
        Type::String => d.str()?.parse().map_err(|_| DecodeError::BadDocumentId),
        Type::Bytes => <[u8; 16]>::try_from(d.bytes()?)
            .map(DocumentId::from_bytes)
            .map_err(|_| DecodeError::BadDocumentId),
        _ => {
            d.skip()?;
            Err(DecodeError::BadDocumentId)
        }
    })
}

fn read_strings(d: &mut Decoder) -> Result<Vec<String>, DecodeError> {
    let len = d
        .array()?
        .ok_or_else(|| DecodeError::Cbor("indefinite-length array".into()))?;
    // Each element takes at least one byte, so a longer claimed length is a lie.
    if len as usize > d.input().len() {
        return Err(DecodeError::Cbor("array longer than the frame".into()));
    }
    (0..len).map(|_| Ok(d.str()?.to_string())).collect()
}

/// JavaScript's CBOR encoder may send integral numbers as floats.
fn read_number(d: &mut Decoder) -> Result<u64, DecodeError> {
    Ok(match d.datatype()? {
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64()?;
            if f.is_finite() && f >= 0.0 {
                f as u64
            } else {
                0
            }
        }
        _ => d.u64()?,
    })
}

fn read_metadata(d: &mut Decoder) -> Result<Option<PeerMetadata>, DecodeError> {
    if matches!(d.datatype()?, Type::Null | Type::Undefined) {
        d.skip()?;
        return Ok(None);
    }
    let len = d
        .map()?
        .ok_or_else(|| DecodeError::Cbor("indefinite-length map".into()))?;
    let mut m = PeerMetadata::default();
    for _ in 0..len {
        match d.str()? {
            "storageId" => {
                m.storage_id = match d.datatype()? {
                    Type::String => Some(d.str()?.to_string()),
                    _ => {
                        d.skip()?;
                        None
                    }
                }
            }
            "isEphemeral" => {
                m.is_ephemeral = match d.datatype()? {
                    Type::Bool => d.bool()?,
                    _ => {
                        d.skip()?;
                        false
                    }
                }
            }
            _ => d.skip()?,
        }
    }
    Ok(Some(m))
}

fn write_metadata(
    e: &mut Encoder<Vec<u8>>,
    m: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(1 + u64::from(m.storage_id.is_some()))?;
    if let Some(id) = &m.storage_id {
        e.str("storageId")?.str(id)?;
    }
    e.str("isEphemeral")?.bool(m.is_ephemeral)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Message> {
        let doc = DocumentId::random();
        vec![
            Message::Join {
                sender_id: "a".into(),
                supported_protocol_versions: vec!["1".into()],
                metadata: Some(PeerMetadata {
                    storage_id: Some("s".into()),
                    is_ephemeral: false,
                }),
            },
            Message::Peer {
                sender_id: "b".into(),
                target_id: "a".into(),
                selected_protocol_version: "1".into(),
                metadata: None,
            },
            Message::Leave {
                sender_id: "a".into(),
            },
            Message::Request {
                sender_id: "a".into(),
                target_id: "b".into(),
                document_id: doc,
                data: vec![1, 2],
            },
            Message::Sync {
                sender_id: "a".into(),
                target_id: "b".into(),
                document_id: doc,
                data: vec![3],
            },
            Message::DocUnavailable {
                sender_id: "b".into(),
                target_id: "a".into(),
                document_id: doc,
            },
            Message::Ephemeral {
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 7,
                session_id: "x".into(),
                document_id: doc,
                data: vec![9],
            },
            Message::Error {
                message: "bad".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in all_kinds() {
            assert_eq!(Message::decode(&m.encode()), Ok(m));
        }
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert!(Message::decode(&[]).is_err());
        assert!(Message::decode(&[0xff, 0x00, 0x13]).is_err());
        // A map that claims four billion entries.
        assert!(Message::decode(&[0xba, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Every truncation of every valid frame is an error.
        for m in all_kinds() {
            let frame = m.encode();
            for cut in 0..frame.len() {
                assert!(Message::decode(&frame[..cut]).is_err(), "{m:?} cut {cut}");
            }
        }
        // A sync message with a bad document id.
        let mut e = Encoder::new(Vec::new());
        e.map(5).unwrap();
        e.str("type").unwrap().str("sync").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("documentId").unwrap().str("nope").unwrap();
        e.str("data").unwrap().bytes(&[1]).unwrap();
        assert_eq!(
            Message::decode(&e.into_writer()),
            Err(DecodeError::BadDocumentId)
        );
    }

    #[test]
    fn unknown_types_are_ignored_by_name() {
        let mut e = Encoder::new(Vec::new());
        e.map(2).unwrap();
        e.str("type").unwrap().str("remote-heads-changed").unwrap();
        e.str("newHeads").unwrap().map(0).unwrap();
        assert_eq!(
            Message::decode(&e.into_writer()),
            Ok(Message::Ignored {
                kind: "remote-heads-changed".into()
            })
        );
    }

    #[test]
    fn javascript_float_counts_are_accepted() {
        let doc = DocumentId::random();
        let mut e = Encoder::new(Vec::new());
        e.map(7).unwrap();
        e.str("type").unwrap().str("ephemeral").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(3.0).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("documentId").unwrap().str(&doc.to_string()).unwrap();
        e.str("data").unwrap().bytes(&[]).unwrap();
        match Message::decode(&e.into_writer()) {
            Ok(Message::Ephemeral { count, .. }) => assert_eq!(count, 3),
            other => panic!("{other:?}"),
        }
    }
}
