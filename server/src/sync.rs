//! The automerge-repo WebSocket (`/sync`), signed in.
//!
//! 1. The upgrade needs a live session cookie (401 otherwise) from this site (Origin check).
//! 2. The client's first frame must be its `join`, with a peer id starting with the session's
//!    prefix (`p<professional id>-`); otherwise the socket is closed (1008). samod is then told
//!    to expect exactly that peer id, so the id samod's share policy sees is authenticated.
//! 3. Every frame passes a filter that enforces case membership (see [`crate::access`]) and
//!    audits each case's first served or denied request on the connection. A frame that does
//!    not decode closes the socket (1008): what we cannot read, we cannot check. Ephemeral
//!    (presence) frames must carry the connection's own peer id as sender and, inside, the
//!    signed-in professional's own id, name and agency, or are dropped: browsers are end
//!    points and never speak for someone else, and nobody appears "here" under another name.
//!    A sync message whose Automerge bytes cannot be read (checked in a worker process, see
//!    [`crate::untrusted`]) never reaches samod: the socket closes with 1007 and the audit
//!    records it.
//!    Changes the relay does not hold yet must be the sender's own (see [`crate::journal`]):
//!    otherwise the socket closes with 4403 and the audit records it.
//! 4. When the session expires or is revoked the socket is closed with code 4401 ("session
//!    ended"): the app asks the person to sign in again. A failing disk closes with 1011.
//! 5. Frames that pass go to the samod repo (shard) of their case ([`crate::repos`]): each
//!    shard the client uses gets its own samod connection, opened with the client's `join`,
//!    and a lobby repo that holds no case answers the `join` at once.
//! 6. An answer that tells the client only what it has just said itself (a case nobody
//!    changed, on coming back online) is left out ([`crate::settled`]).
//! 7. With several relays on one database ([`crate::cluster`]), frames about a case whose
//!    shard another relay works on go, unread, to that relay's `/internal/sync`, opened with
//!    the client's `join` and session: there they pass all of the above, and what comes back
//!    is the client's. If that relay goes, the connection closes with 1013 ("try again") and
//!    the client reconnects.

use crate::access::Access;
use crate::api::ApiError;
use crate::audit::{Audit, Event};
use crate::auth::{peer_prefix, token_from, ClientAddr, Session};
use crate::cluster::{Cluster, Place};
use crate::consent::Watcher;
use crate::journal::JournalError;
use crate::repos::Repos;
use crate::settled::Settled;
use crate::untrusted::Kind;
use crate::AppState;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use shared::authorship::Refusal;
use shared::presence::Presence;
use shared::protocol::{DecodeError, Message, MAX_FRAME_BYTES};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::watch;

/// Close code for "your session has ended" (4000-4999 are for applications).
pub const CLOSE_SESSION_ENDED: u16 = 4401;
/// Close code for "a sync message's changes could not be read": 1007 is WebSocket's own code
/// for data inconsistent with its message type.
pub const CLOSE_UNREADABLE: u16 = 1007;
/// Close code for "these changes were written under someone else's name" (see
/// [`crate::journal`]).
pub const CLOSE_NOT_YOURS: u16 = 4403;
/// Longest a sync message waits for the changes it announces to reach the disk; past that
/// storage is too slow to trust, and the connection closes (1011) for the client to retry.
const ACK_WAIT: Duration = Duration::from_secs(10);
/// Close code for "this case is moving between relays: connect again shortly" (WebSocket's
/// own "try again later").
pub const CLOSE_TRY_AGAIN: u16 = 1013;
/// How long a client has to send its `join` after the upgrade.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest peer id accepted (ours are ~40 characters).
const MAX_PEER_ID: usize = 128;
/// Distinct (case, outcome) pairs audited per connection; past that, one row says audit was
/// suppressed, so a client spraying random ids cannot flood the audit table.
const MAX_AUDITED_PER_CONNECTION: usize = 1000;

pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !state.health.is_ok() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The relay cannot store changes right now. Your changes are safe on your device; try again shortly.",
        )
        .into_response();
    }
    if !same_origin(&headers) {
        return ApiError::new(StatusCode::FORBIDDEN, "This page may not sync cases.")
            .into_response();
    }
    let session = match token_from(&headers) {
        Some(token) => match state.sessions.find(&token).await {
            Ok(s) => s,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let Some(session) = session else {
        return ApiError::session_ended().into_response();
    };
    // Another relay forwards a browser's frames: it has checked the browser's origin, and
    // names its address.
    let (forwarded, client) = match &state.cluster {
        Some(cluster) if cluster.vouches(&headers) => (true, cluster.client(&headers)),
        _ => (false, client),
    };
    let token = token_from(&headers).unwrap_or_default();
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Most connections sit idle all day: a 16 KiB read buffer instead of the default
        // 128 KiB (frames larger than it are still read whole; see the memory benchmark).
        .read_buffer_size(16 * 1024)
        .on_upgrade(move |socket| {
            let via = Via {
                token,
                client,
                forwarded,
            };
            serve(state, session, via, socket)
        })
}

/// How a sync connection reached this relay.
struct Via {
    /// The session's token, for forwarding to another relay.
    token: String,
    client: Option<IpAddr>,
    /// From another relay, which forwards one shard's frames: they must all be served here.
    forwarded: bool,
}

/// The same WebSocket, for another relay of this service that forwards a browser's frames
/// (see [`crate::cluster`]); refused to anyone else, as if it did not exist.
pub async fn forwarded(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !state.cluster.as_ref().is_some_and(|c| c.vouches(&headers)) {
        return StatusCode::NOT_FOUND.into_response();
    }
    upgrade(State(state), client, headers, ws).await
}

/// A browser always sends `Origin` on a WebSocket upgrade; it must be this relay's own host,
/// so another site cannot ride on the session cookie. Non-browser clients send none.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[derive(Debug, Clone, Copy)]
enum End {
    Session,
    Storage,
    /// The client broke the protocol in a way the filter cannot check (1008).
    Policy,
    /// The client sent a case's changes that cannot be read (1007).
    Unreadable,
    /// The client sent changes written under someone else's name (4403).
    NotYours,
    /// A case this connection uses is moving between relays (1013).
    TryAgain,
}

impl End {
    /// Why another relay closed a forwarded connection, from its close code.
    fn of_code(code: u16) -> End {
        match code {
            CLOSE_SESSION_ENDED => End::Session,
            1011 => End::Storage,
            1008 => End::Policy,
            CLOSE_UNREADABLE => End::Unreadable,
            CLOSE_NOT_YOURS => End::NotYours,
            _ => End::TryAgain,
        }
    }
}

/// Records why the connection ends, unless a reason was already recorded.
fn signal_end(tx: &watch::Sender<Option<End>>, end: End) {
    tx.send_if_modified(|e| {
        if e.is_none() {
            *e = Some(end);
            true
        } else {
            false
        }
    });
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Waits for the client's `join` frame and returns it with the peer id it claims.
async fn read_join(socket: &mut WebSocket, prefix: &str) -> Option<(Vec<u8>, String)> {
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match msg.ok()? {
            WsMessage::Binary(bytes) => {
                return match Message::decode(&bytes) {
                    Ok(Message::Join { sender_id, .. })
                        if sender_id.starts_with(prefix)
                            && sender_id.len() > prefix.len()
                            && sender_id.len() <= MAX_PEER_ID =>
                    {
                        Some((bytes.to_vec(), sender_id))
                    }
                    _ => None,
                };
            }
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            _ => return None,
        }
    }
}

async fn serve(state: AppState, session: Session, via: Via, mut socket: WebSocket) {
    let client = via.client;
    let professional = session.professional.id;
    let Some((join, peer_id)) = read_join(&mut socket, &peer_prefix(professional)).await else {
        tracing::info!(
            professional,
            "sync connection closed: join missing or peer id not bound to the session"
        );
        close(socket, 1008, "peer id does not match the session").await;
        return;
    };

    // What ends the connection from our side.
    let (end_tx, end_rx) = watch::channel(None::<End>);
    let ender = {
        let (sessions, health) = (state.sessions.clone(), state.health.clone());
        let end_tx = end_tx.clone();
        tokio::spawn(async move {
            let end = tokio::select! {
                _ = sessions.ended(session.id, session.expires_at) => End::Session,
                _ = health.failed() => End::Storage,
            };
            signal_end(&end_tx, end);
        })
    };
    let ended = |mut rx: watch::Receiver<Option<End>>| async move {
        rx.wait_for(Option::is_some).await.ok().and_then(|e| *e)
    };

    let (mut ws_out, ws_in) = socket.split();
    // samod writes here; the forwarder below filters and writes to the socket. Replies the
    // inbound filter makes itself (doc-unavailable) go the same way.
    // Each frame says whether it comes from another relay, which has filtered it already.
    let (out_tx, mut out_rx) = futures::channel::mpsc::channel::<(Vec<u8>, bool)>(64);
    let storage_end = end_tx.clone();
    let mut filter = Inbound {
        access: state.access.clone(),
        audit: state.audit.clone(),
        consent: state.consent.clone(),
        professional,
        identity: (
            session.professional.name.clone(),
            session.professional.agency_name.clone(),
        ),
        peer_id: peer_id.clone(),
        relay_peer_id: state.repos.peer_id().to_string(),
        client,
        audited: HashSet::new(),
        reply: out_tx.clone(),
        end: end_tx,
        violated: false,
    };
    let mut router = Router {
        repos: state.repos.clone(),
        peer_id: samod::PeerId::from(peer_id.as_str()),
        join,
        out: out_tx,
        shards: HashMap::new(),
        forward: state.cluster.clone().map(|cluster| Forward {
            cluster,
            access: state.access.clone(),
            professional,
            token: via.token,
            client,
            end: filter.end.clone(),
        }),
        forwarded: via.forwarded,
    };
    // The lobby answers the client's join at once, whatever it then asks for.
    if router.open_lobby().is_err() {
        tracing::warn!("sync connection refused: the repo has stopped");
        ender.abort();
        return;
    }
    tracing::debug!(professional, "sync connection accepted");
    let inbound = ws_in
        .filter_map(|msg| async move {
            match msg {
                Ok(WsMessage::Binary(bytes)) => Some(Ok(bytes.to_vec())),
                // The protocol is binary CBOR; text frames are malformed input.
                Ok(WsMessage::Text(_)) => Some(Err(TransportError::Text)),
                Ok(_) => None,
                Err(e) => Some(Err(TransportError::Socket(e.to_string()))),
            }
        })
        .take_until(Box::pin(ended(end_rx.clone())));
    let settled = Settled::default();
    let said = settled.clone();
    let checker = state.checker.clone();
    let (journal, repos) = (state.journal.clone(), state.repos.clone());
    let health = state.health.clone();
    let routing = tokio::spawn(async move {
        let mut inbound = std::pin::pin!(inbound);
        while let Some(frame) = inbound.next().await {
            // A case another relay works on: that relay reads and checks the frame.
            let frame = match frame {
                Ok(bytes) => match router.elsewhere(&bytes).await {
                    Ok(None) => Ok(bytes),
                    Ok(Some(shard)) => {
                        if router.send(Some(shard), bytes).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Err(end) => {
                        signal_end(&filter.end, end);
                        break;
                    }
                },
                Err(e) => Err(e),
            };
            match filter.pass(frame) {
                None => continue,
                Some(Ok(Passed { frame, case, check })) => {
                    if let (Some(data), Some(case_id)) = (check, &case) {
                        if let Err(e) = checker.check(Kind::SyncMessage, &data).await {
                            filter.refuse_bytes(case_id, &e);
                            break;
                        }
                        // Checked above, so decoding it here is safe; decoded once for what
                        // follows.
                        let message = match automerge::sync::Message::decode(&data) {
                            Ok(message) => message,
                            Err(e) => {
                                let why = shared::untrusted::Rejected(format!("sync message: {e}"));
                                filter.refuse_bytes(case_id, &why);
                                break;
                            }
                        };
                        // Whose changes these are, before samod takes them (see
                        // crate::journal).
                        match journal
                            .check_message(&repos, case_id, professional, &message)
                            .await
                        {
                            Ok(_) => {}
                            Err(JournalError::Refused(why)) => {
                                filter.refuse_author(case_id, &why);
                                break;
                            }
                            Err(JournalError::Unreadable(e)) => {
                                filter.refuse_bytes(case_id, &e);
                                break;
                            }
                            Err(e) => {
                                tracing::error!(professional, case = %case_id, error = %e, "changes could not be journalled; closing");
                                if matches!(e, JournalError::Db(_)) {
                                    // Like a document write that fails: refuse sync until a
                                    // probe write succeeds (crate::health).
                                    health.set_failing(true);
                                }
                                signal_end(&filter.end, End::Storage);
                                break;
                            }
                        }
                        said.client_said(case_id, &message);
                    }
                    if router.route(frame, case).await.is_err() {
                        // The case's shard could not be opened here (it moved to another
                        // relay a moment ago, or this relay is stopping).
                        signal_end(&filter.end, End::TryAgain);
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(professional, error = %e, "sync connection ended by the client");
                    break;
                }
            }
        }
        // Dropping the router ends this connection in every shard, and so the loop below.
    });

    // Why we stopped, if we did: samod may finish (and drop its sink) a moment before this
    // loop sees the signal, so the close code is read from the signal's state either way.
    let why = end_rx.clone();
    let mut end = Box::pin(ended(end_rx));
    // Every shard the client uses answers its join; the client hears the first answer only.
    let mut answered = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut end => break,
            frame = out_rx.next() => match frame {
                Some((frame, from_relay)) => {
                    if from_relay {
                        // Filtered, and on disk, at the relay that sent it; only the first
                        // answer to the client's join is the client's.
                        let peer = matches!(Message::decode(&frame), Ok(Message::Peer { .. }));
                        if (!peer || !std::mem::replace(&mut answered, true))
                            && ws_out.send(WsMessage::Binary(frame.into())).await.is_err()
                        {
                            break;
                        }
                        continue;
                    }
                    let Some(message) =
                        outbound_allowed(&state.access, professional, &frame, &mut answered)
                    else {
                        continue;
                    };
                    // A sync message tells the client which changes the relay holds: only once
                    // they are on disk (see crate::durable).
                    // Waiting must not hide the connection's end (storage failing, say, which
                    // is exactly when a write never reaches the disk).
                    if let Some((case, sync)) = sync_message(message) {
                        if settled.redundant(&case, &sync) {
                            continue;
                        }
                        tokio::select! {
                            biased;
                            _ = &mut end => break,
                            on_disk = state.durable.wait_for(&case, &sync.heads, ACK_WAIT) => {
                                if !on_disk {
                                    tracing::warn!(professional, case = %case, "changes not on disk in time; closing");
                                    signal_end(&storage_end, End::Storage);
                                    break;
                                }
                            }
                        }
                    }
                    if ws_out.send(WsMessage::Binary(frame.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let why = *why.borrow();
    let close = why.map(|why| {
        let (code, reason) = match why {
            End::Storage => (1011, "storage is failing"),
            End::Session => (CLOSE_SESSION_ENDED, "session ended"),
            End::Policy => (1008, "frame not understood"),
            End::Unreadable => (CLOSE_UNREADABLE, "case data could not be read"),
            End::NotYours => (CLOSE_NOT_YOURS, "changes made under someone else's name"),
            End::TryAgain => (CLOSE_TRY_AGAIN, "a case is moving between servers"),
        };
        tracing::info!(professional, code, "closing sync connection");
        CloseFrame {
            code,
            reason: reason.into(),
        }
    });
    let _ = ws_out.send(WsMessage::Close(close)).await;
    ender.abort();
    routing.abort();
}

/// One client's connection, split over the shards of the cases it syncs (see
/// [`crate::repos`]): each shard gets its own samod connection, opened with the client's
/// `join` when the client first mentions one of that shard's cases.
struct Router {
    repos: Repos,
    peer_id: samod::PeerId,
    join: Vec<u8>,
    out: futures::channel::mpsc::Sender<(Vec<u8>, bool)>,
    /// The lobby (`None`) and each case shard this connection uses.
    shards: HashMap<Option<usize>, Link>,
    /// How to reach the other relays, if there are any.
    forward: Option<Forward>,
    /// This connection is another relay's forwarding: every shard it uses must be here.
    forwarded: bool,
}

/// One shard's part of a client connection.
struct Link {
    to_shard: ToShard,
    /// Keeps a shard here loaded.
    _hold: Option<crate::repos::ShardUse>,
    /// Whether another relay works on the shard.
    remote: bool,
    /// Carries frames to and from that relay; stopped with the link.
    _pump: Option<Pump>,
}

/// What a connection needs to forward a shard's frames to another relay.
struct Forward {
    cluster: Cluster,
    access: Access,
    professional: i64,
    token: String,
    client: Option<IpAddr>,
    end: watch::Sender<Option<End>>,
}

/// A task that stops when dropped.
struct Pump(tokio::task::JoinHandle<()>);

impl Drop for Pump {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type ToShard = futures::channel::mpsc::Sender<Result<Vec<u8>, TransportError>>;

impl Router {
    /// A samod connection for this client, opened with its `join`.
    fn transport(&self) -> (ToShard, samod::Transport) {
        let (mut to_shard, from_client) = futures::channel::mpsc::channel(64);
        // A new channel has room for its first frame.
        let _ = to_shard.try_send(Ok(self.join.clone()));
        let sink = self
            .out
            .clone()
            .sink_map_err(|_| TransportError::Closed)
            .with(|frame| futures::future::ready(Ok::<_, TransportError>((frame, false))));
        let transport =
            samod::Transport::new(from_client, sink).with_expected_peer_id(self.peer_id.clone());
        (to_shard, transport)
    }

    fn open_lobby(&mut self) -> Result<(), samod::Stopped> {
        let (to_shard, transport) = self.transport();
        self.repos.accept_lobby(transport)?;
        self.shards.insert(
            None,
            Link {
                to_shard,
                _hold: None,
                remote: false,
                _pump: None,
            },
        );
        Ok(())
    }

    async fn open(&mut self, shard: usize) -> Result<(), samod::Stopped> {
        let (to_shard, transport) = self.transport();
        let hold = self.repos.accept(shard, transport).await?;
        self.shards.insert(
            Some(shard),
            Link {
                to_shard,
                _hold: Some(hold),
                remote: false,
                _pump: None,
            },
        );
        Ok(())
    }

    /// The shard a frame is about, if another relay works on it (linking to that relay the
    /// first time); `None` for a frame to read here. `Err` if the shard is moving between
    /// relays, or a forwarded connection reaches a shard this relay does not hold.
    async fn elsewhere(&mut self, frame: &[u8]) -> Result<Option<usize>, End> {
        let Some(forward) = &self.forward else {
            return Ok(None);
        };
        // Frames that do not decode, or name no case, are read (and refused) here.
        let document_id = match Message::decode(frame) {
            Ok(
                Message::Request { document_id, .. }
                | Message::Sync { document_id, .. }
                | Message::Ephemeral { document_id, .. }
                | Message::DocUnavailable { document_id, .. },
            ) => document_id,
            _ => return Ok(None),
        };
        let case_id = document_id.to_string();
        let shard = self.repos.shard_of(&case_id);
        if let Some(link) = self.shards.get(&Some(shard)) {
            return Ok(link.remote.then_some(shard));
        }
        // Someone else's case (or no case) is refused and audited here: it must not make
        // this relay claim, load or reach for a shard.
        if !forward.access.may_sync(&case_id, forward.professional) {
            return Ok(None);
        }
        let owner = match self.repos.place(shard).await {
            Place::Here => return Ok(None),
            Place::There(_) if self.forwarded => return Err(End::TryAgain),
            Place::There(owner) => owner,
            Place::Unsettled => return Err(End::TryAgain),
        };
        let (to_shard, pump) = forward.link(&owner, &self.join, self.out.clone()).await?;
        self.shards.insert(
            Some(shard),
            Link {
                to_shard,
                _hold: None,
                remote: true,
                _pump: Some(pump),
            },
        );
        Ok(Some(shard))
    }

    /// Hands a frame to the shard of its case; a frame about no case (`leave`) goes to every
    /// shard this connection uses. `Err` once the connection cannot go on.
    async fn route(&mut self, frame: Vec<u8>, case: Option<String>) -> Result<(), ()> {
        let shard = case.map(|case_id| self.repos.shard_of(&case_id));
        if let Some(shard) = shard {
            if !self.shards.contains_key(&Some(shard)) {
                self.open(shard).await.map_err(|_| ())?;
            }
        }
        self.send(shard, frame).await
    }

    /// Sends a frame on a shard's link, or on every link for `None`.
    async fn send(&mut self, shard: Option<usize>, frame: Vec<u8>) -> Result<(), ()> {
        let Some(shard) = shard else {
            for link in self.shards.values_mut() {
                let _ = link.to_shard.send(Ok(frame.clone())).await;
            }
            return Ok(());
        };
        let link = self.shards.get_mut(&Some(shard)).ok_or(())?;
        link.to_shard.send(Ok(frame)).await.map_err(|_| ())
    }
}

impl Forward {
    /// Opens a forwarded connection at the relay `owner`, with the client's `join` and
    /// session. Frames sent on the returned channel go there; what comes back goes to `out`,
    /// marked as another relay's. When that relay closes the connection or goes, this one
    /// ends with its reason (or "try again").
    async fn link(
        &self,
        owner: &str,
        join: &[u8],
        out: futures::channel::mpsc::Sender<(Vec<u8>, bool)>,
    ) -> Result<(ToShard, Pump), End> {
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message as Frame};
        let url = format!(
            "{}/internal/sync",
            owner
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().map_err(|_| End::TryAgain)?;
        let headers = request.headers_mut();
        let mut named = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(name),
                axum::http::HeaderValue::try_from(value),
            ) {
                headers.insert(n, v);
            }
        };
        named(
            header::COOKIE.as_str(),
            &format!("{}={}", crate::auth::COOKIE, self.token),
        );
        for (name, value) in self.cluster.headers(self.client) {
            named(name, &value);
        }
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (socket, _) = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| End::TryAgain)?
            .map_err(|e| {
                tracing::warn!(relay = %owner, error = %e, "could not reach the relay that works on a case");
                End::TryAgain
            })?;
        let (mut to_relay, mut from_relay) = socket.split();
        let (to_shard, mut frames) =
            futures::channel::mpsc::channel::<Result<Vec<u8>, TransportError>>(64);
        let join = join.to_vec();
        let end = self.end.clone();
        let pump = tokio::spawn(async move {
            let mut out = out;
            if to_relay.send(Frame::Binary(join.into())).await.is_err() {
                signal_end(&end, End::TryAgain);
                return;
            }
            let why = loop {
                tokio::select! {
                    frame = frames.next() => match frame {
                        Some(Ok(bytes)) => {
                            if to_relay.send(Frame::Binary(bytes.into())).await.is_err() {
                                break End::TryAgain;
                            }
                        }
                        // The client's connection is ending.
                        _ => {
                            let _ = to_relay.close().await;
                            return;
                        }
                    },
                    frame = from_relay.next() => match frame {
                        Some(Ok(Frame::Binary(bytes))) => {
                            if out.send((bytes.to_vec(), true)).await.is_err() {
                                return;
                            }
                        }
                        Some(Ok(Frame::Close(close))) => {
                            break close.map(|c| End::of_code(c.code.into())).unwrap_or(End::TryAgain);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break End::TryAgain,
                    },
                }
            };
            signal_end(&end, why);
        });
        Ok((to_shard, Pump(pump)))
    }
}

/// Drops frames about cases the professional is not (or no longer) a member of, whatever
/// samod had queued before it learnt of the change. Frames that do not decode are dropped too
/// (deny by default): samod's own frames always should, and one we cannot read we cannot check.
fn outbound_allowed(
    access: &Access,
    professional: i64,
    frame: &[u8],
    answered: &mut bool,
) -> Option<Message> {
    let message = match Message::decode(frame) {
        Ok(message) => message,
        Err(e) => {
            // The message type only: never the frame, which may hold case content.
            tracing::warn!(
                professional,
                message_type = message_type(&e),
                len = frame.len(),
                "dropped an outbound sync frame that does not decode"
            );
            return None;
        }
    };
    let allowed = match &message {
        Message::Peer { .. } => !std::mem::replace(answered, true),
        Message::Sync { document_id, .. }
        | Message::Request { document_id, .. }
        | Message::Ephemeral { document_id, .. } => {
            access.may_sync(&document_id.to_string(), professional)
        }
        _ => true,
    };
    allowed.then_some(message)
}

/// The case and the Automerge sync message of a relay sync message, if it is one.
fn sync_message(message: Message) -> Option<(String, automerge::sync::Message)> {
    match message {
        Message::Sync {
            document_id, data, ..
        }
        | Message::Request {
            document_id, data, ..
        } => {
            let sync = automerge::sync::Message::decode(&data).ok()?;
            Some((document_id.to_string(), sync))
        }
        _ => None,
    }
}

/// The message type named by a decode error, where it names one.
fn message_type(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::MissingField { kind, .. } => kind,
        DecodeError::MissingType => "none",
        _ => "unknown",
    }
}

/// A frame let through, with the case it is about (if any), for routing to that case's shard,
/// and the Automerge sync message it carries, which must be checked before samod sees it.
struct Passed {
    frame: Vec<u8>,
    case: Option<String>,
    check: Option<Vec<u8>>,
}

/// Inbound membership filter and access audit for one connection.
struct Inbound {
    access: Access,
    audit: Audit,
    consent: Watcher,
    professional: i64,
    /// Who presence from this connection must name: the session's professional.
    identity: (String, String),
    peer_id: String,
    relay_peer_id: String,
    client: Option<IpAddr>,
    audited: HashSet<(String, bool)>,
    reply: futures::channel::mpsc::Sender<(Vec<u8>, bool)>,
    /// Ends the connection (1008) on a frame we cannot check.
    end: watch::Sender<Option<End>>,
    /// Set once the client broke the protocol: nothing more reaches samod.
    violated: bool,
}

impl Inbound {
    /// The frame to hand to samod, or `None` to drop it (having answered it if needed).
    /// The frame comes back with the case it is about, if any, for routing.
    fn pass(
        &mut self,
        frame: Result<Vec<u8>, TransportError>,
    ) -> Option<Result<Passed, TransportError>> {
        if self.violated {
            return None;
        }
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(e) => return Some(Err(e)),
        };
        // A frame we cannot read could be anything samod reads differently (e.g. a request
        // with a trailing byte): it must not skip the membership check and the audit.
        let message = match Message::decode(&bytes) {
            Ok(message) => message,
            Err(e) => {
                tracing::info!(
                    professional = self.professional,
                    message_type = message_type(&e),
                    "sync connection closed: a frame did not decode"
                );
                self.violated = true;
                signal_end(&self.end, End::Policy);
                return None;
            }
        };
        let (document_id, asks) = match &message {
            Message::Request { document_id, .. } | Message::Sync { document_id, .. } => {
                (*document_id, true)
            }
            Message::Ephemeral { sender_id, .. } if *sender_id != self.peer_id => {
                // Presence in someone else's name: browsers are end points, never relays.
                tracing::info!(
                    professional = self.professional,
                    "dropped an ephemeral frame sent in another peer's name"
                );
                return None;
            }
            Message::Ephemeral { data, .. } if !self.names_itself(data) => {
                tracing::info!(
                    professional = self.professional,
                    "dropped presence that did not name the signed-in professional"
                );
                return None;
            }
            Message::Ephemeral { document_id, .. }
            | Message::DocUnavailable { document_id, .. } => (*document_id, false),
            _ => {
                return Some(Ok(Passed {
                    frame: bytes,
                    case: None,
                    check: None,
                }))
            }
        };
        let case_id = document_id.to_string();
        let allowed = self.access.may_sync(&case_id, self.professional);
        if asks {
            self.audit_once(&case_id, allowed);
        }
        if allowed {
            if matches!(message, Message::Sync { .. }) {
                self.consent.watch(&case_id);
            }
            // Changes are checked before samod sees them (see the routing loop).
            let check = match message {
                Message::Sync { data, .. } | Message::Request { data, .. } if !data.is_empty() => {
                    Some(data)
                }
                _ => None,
            };
            return Some(Ok(Passed {
                frame: bytes,
                case: Some(case_id),
                check,
            }));
        }
        if asks {
            // Exactly what samod says about a document it does not have: a forbidden case
            // and an unknown id look the same.
            let answer = Message::DocUnavailable {
                sender_id: self.relay_peer_id.clone(),
                target_id: self.peer_id.clone(),
                document_id,
            }
            .encode();
            // A client that does not read its answers loses them rather than growing memory.
            let _ = self.reply.try_send((answer, false));
        }
        None
    }

    /// A member sent Automerge bytes that would break (or fail in) the decoder: nothing of it
    /// reaches samod, the connection closes (1007) and the audit says so, by ids only.
    fn refuse_author(&mut self, case_id: &str, why: &Refusal) {
        tracing::warn!(
            professional = self.professional,
            case = %case_id,
            refusal = %why,
            "sync connection closed: changes written under someone else's name"
        );
        self.audit.record_later(
            Event::new("sync_rejected", why.outcome())
                .actor(self.professional)
                .case(case_id)
                .client(self.client),
        );
        self.violated = true;
        signal_end(&self.end, End::NotYours);
    }

    fn refuse_bytes(&mut self, case_id: &str, e: &shared::untrusted::Rejected) {
        tracing::warn!(
            professional = self.professional,
            case = %case_id,
            error = %e,
            "sync connection closed: a sync message for the case could not be read"
        );
        self.audit.record_later(
            Event::new("sync_rejected", "unreadable_changes")
                .actor(self.professional)
                .case(case_id)
                .client(self.client),
        );
        self.violated = true;
        signal_end(&self.end, End::Unreadable);
    }

    /// Ephemeral messages are presence: they must say who is here truthfully.
    fn names_itself(&self, data: &[u8]) -> bool {
        Presence::decode(data).is_some_and(|p| {
            p.professional_id == self.professional
                && p.name == self.identity.0
                && p.agency == self.identity.1
        })
    }

    fn audit_once(&mut self, case_id: &str, allowed: bool) {
        if self.audited.len() > MAX_AUDITED_PER_CONNECTION {
            return;
        }
        if self.audited.len() == MAX_AUDITED_PER_CONNECTION {
            self.audited.insert((String::new(), false));
            self.audit.record_later(
                Event::new("sync_access", "audit_suppressed")
                    .actor(self.professional)
                    .client(self.client),
            );
            return;
        }
        if self.audited.insert((case_id.to_string(), allowed)) {
            let outcome = if allowed { "served" } else { "denied" };
            self.audit.record_later(
                Event::new("sync_access", outcome)
                    .actor(self.professional)
                    .case(case_id)
                    .client(self.client),
            );
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("text frames are not part of the protocol")]
    Text,
    #[error("websocket error: {0}")]
    Socket(String),
    #[error("the connection has closed")]
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_be_this_host_when_given() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "relay.example:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            "https://relay.example:8080".parse().unwrap(),
        );
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
