//! The browser side of the client repo: carries out the sans-IO core's effects with the
//! browser's WebSocket and IndexedDB, and tells the views when something changed.
//!
//! Effects run one at a time, in order, from one queue, so a change is in IndexedDB before
//! any frame that carries it leaves the device.

use crate::api::{self, CallError};
use crate::later::later;
use crate::storage::{CaseSummary, Store, StoreError, Write};
use automerge::transaction::Transactable;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::api::{CaseRole, Me, MyCase, RemovedBecause};
use shared::caseload::CaseRow;
use shared::presence::{Presence, PresenceBook};
use shared::record::{self, CaseRecord, RecordError};
use shared::sync::{reconnect_delay_ms, Effect, Holding, SyncClient, Waiting};
use shared::DocumentId;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// Local edits are stored and sent at most this long after the keystroke when nobody else has
/// the case open: a burst of typing becomes one change to store and send.
const FLUSH_AFTER_MS: i32 = 400;
/// With others on the case (a meeting), this soon, so they see the words as they are typed. The
/// latency bench sends every keystroke at once through the relay, so this costs it nothing new.
const FLUSH_LIVE_MS: i32 = 40;
/// After the device refused a write (full, say), how long until the edits held in memory are
/// written again.
const STORAGE_RETRY_MS: u32 = 3000;
/// How long after a change its case's caseload row is taken (typing goes on meanwhile).
const ROW_DELAY_MS: u32 = 1500;
/// A relay that accepts the socket but does not answer the handshake is given up on after this.
const HANDSHAKE_TIMEOUT_MS: i32 = 10_000;

/// Whether we can reach the relay right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Offline,
    Connecting,
    Online,
}

/// What the sync status bar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus {
    pub link: Link,
    /// Changes made on this device that the relay does not have yet.
    pub unsent: usize,
    /// The cases those changes are to, and since when.
    pub waiting: Vec<Waiting>,
    /// A storage problem the person must know about.
    pub problem: Option<String>,
    /// This device refused to store the latest edits: they are only in the open tab.
    pub not_stored: bool,
}

/// Who is using the app on this device, as far as we know.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    /// Nobody has signed in on this device (or they signed out): only the sign-in page shows.
    SignedOut,
    /// Signed in. Offline, this is who signed in last; the relay confirms it on each connection.
    SignedIn(Me),
    /// Their session ended (expired, revoked, or signed out elsewhere): they keep working on
    /// this device, and sign in again to share their changes.
    Ended(Me),
    /// Their account was closed (they left the service): the device is handing its cases to
    /// their teams (if it still may: `true`) before clearing itself; nothing can be changed
    /// meanwhile.
    Leaving(Me, bool),
}

impl Account {
    pub fn me(&self) -> Option<&Me> {
        match self {
            Account::SignedOut => None,
            Account::SignedIn(me) | Account::Ended(me) | Account::Leaving(me, _) => Some(me),
        }
    }
}

/// Where this device keeps who signed in last (not a secret: the session is a cookie).
const ME_KEY: &str = "me";
/// My part in each case (lead professional or team member), as the relay last said.
const ROLES_KEY: &str = "my-roles";
/// Where it keeps the ids of cases the relay knows about.
const REGISTERED_KEY: &str = "registered";
/// Cases whose copy this device removed (its owner left the team, or it closed long ago), and
/// why, until the relay has heard.
const REMOVED_COPIES_KEY: &str = "removed-copies";
/// Closed cases put away from this device (id → Unix ms): not fetched again unless they
/// change, or someone opens one on purpose.
const PUT_AWAY_KEY: &str = "put-away";
/// Cases opened on purpose after being put away (id → Unix ms): they stay a while.
const KEPT_KEY: &str = "kept-on-purpose";
/// How long to wait before fetching the sync engine again after it could not be fetched, and
/// after how many tries the person is told.
const ENGINE_RETRY_MS: u64 = 5_000;
const ENGINE_TRIES_BEFORE_TELLING: u32 = 3;
/// How long a case opened on purpose stays before it is put away again.
const KEPT_MS: i64 = 30 * 24 * 3600 * 1000;
/// The close code the relay uses when a session ends.
const SESSION_ENDED: u16 = 4401;
/// The relay's close code for changes written under someone else's name.
const NOT_YOURS: u16 = 4403;

/// Code to run just before remote changes are applied, with the handle that removes it.
type Hooks = Vec<(u32, Rc<dyn Fn()>)>;

/// A case being read from the device by [`Repo::open`]: whoever waits for it is woken when
/// the read ends, however it ends (finished, failed or dropped).
struct Reading<'a>(&'a Repo, DocumentId);

impl<'a> Reading<'a> {
    /// Only when nobody else is reading the case ([`Repo::open`] waits for them first).
    fn start(repo: &'a Repo, id: DocumentId) -> Self {
        repo.0.opening.borrow_mut().insert(id, Vec::new());
        Reading(repo, id)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let waiters = self.0 .0.opening.borrow_mut().remove(&self.1);
        // Dropping the senders wakes the waiters (with the map no longer borrowed).
        drop(waiters);
    }
}

/// A handle on the client repo, cheap to clone into views.
#[derive(Clone)]
pub struct Repo(SendWrapper<Rc<Inner>>);

struct Inner {
    client: RefCell<SyncClient>,
    store: Store,
    queue: RefCell<VecDeque<Effect>>,
    draining: Cell<bool>,
    socket: RefCell<Option<WebSocket>>,
    /// Bumped for each new socket, so events from an old one are ignored.
    generation: Cell<u32>,
    attempt: Cell<u32>,
    reconnect_pending: Cell<bool>,
    /// Documents edited locally and not yet flushed.
    dirty: RefCell<HashSet<DocumentId>>,
    flush_pending: Cell<bool>,
    names: RefCell<HashMap<DocumentId, String>>,
    /// Called just before frames from the relay are applied (e.g. to remember carets).
    before_remote: RefCell<Hooks>,
    next_hook: Cell<u32>,
    /// Keeps the current socket's handlers alive.
    handlers: RefCell<Vec<Box<dyn std::any::Any>>>,
    status: RwSignal<SyncStatus>,
    account: RwSignal<Account>,
    /// Who else has each open case open, from their ephemeral messages (never stored).
    presence: RefCell<HashMap<DocumentId, PresenceBook>>,
    presence_changed: RwSignal<u64>,
    /// Cases the relay has accepted from this device (so they sync).
    registered: RefCell<HashSet<DocumentId>>,
    /// The device was cleared for someone else (or signed out): nothing more is stored or sent
    /// from what is in memory; the page reloads.
    wiped: Cell<bool>,
    cases: RwSignal<Vec<CaseSummary>>,
    /// Bumped whenever documents change from outside this tab's typing.
    remote: RwSignal<u64>,
    /// Bumped when local edits are flushed (at most ~0.4 s after typing), or at once when an
    /// item is added or removed: views derived from the whole case (summaries, lists) follow
    /// this rather than every keystroke, so typing stays fast in a large case.
    local: RwSignal<u64>,
    /// Cases changed since their caseload rows were last taken.
    /// (And whether they changed, rather than were only read from the device.)
    stale_rows: RefCell<HashMap<DocumentId, bool>>,
    rows_pending: Cell<bool>,
    /// My part in each case, kept for offline use.
    roles: RwSignal<HashMap<DocumentId, CaseRole>>,
    /// When this tab first edited each case with changes not yet shared.
    first_unsent: RefCell<HashMap<DocumentId, i64>>,
    /// Things to tell the person that happened without them doing anything (a case removed
    /// from this device because they left its team).
    notices: RwSignal<Vec<String>>,
    /// Cases whose hand-over the relay refused since the app started: not tried again, so a
    /// refusal is not repeated (and the copy not sent again) at every connection.
    refused_handover: RefCell<HashSet<DocumentId>>,
    /// The cases stored on this device when the page opened (the others arrived since).
    at_start: HashSet<DocumentId>,
    /// The sync engine has arrived and started ([`Repo::start_engine`]).
    engine_started: Cell<bool>,
    /// Edits are stored when the page is hidden or closed ([`Repo::watch_page_lifecycle`]).
    lifecycle_watched: Cell<bool>,
    /// Cases being read from the device, with whoever else is waiting for each
    /// ([`Repo::open`]).
    opening: RefCell<HashMap<DocumentId, Vec<futures::channel::oneshot::Sender<()>>>>,
}

impl Repo {
    /// Opens the device's store and starts syncing.
    pub async fn start() -> Result<Repo, StoreError> {
        let store = Store::open().await?;
        let storage_id = store.storage_id().await?;
        let cases = store.list_cases().await?;
        let at_start: HashSet<DocumentId> = cases.iter().map(|c| c.id).collect();
        let me: Option<Me> = store
            .get_meta(ME_KEY)
            .await?
            .and_then(|json| serde_json::from_str(&json).ok());
        let registered: HashSet<DocumentId> = store
            .get_meta(REGISTERED_KEY)
            .await?
            .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        let roles: HashMap<DocumentId, CaseRole> = store
            .get_meta(ROLES_KEY)
            .await?
            .and_then(|json| serde_json::from_str::<Vec<MyCase>>(&json).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| Some((c.id.parse().ok()?, c.role)))
            .collect();
        let peer_id = peer_id_for(me.as_ref());
        let inner = Inner {
            client: RefCell::new(SyncClient::new(peer_id, storage_id)),
            store,
            queue: RefCell::default(),
            draining: Cell::new(false),
            socket: RefCell::new(None),
            generation: Cell::new(0),
            attempt: Cell::new(0),
            reconnect_pending: Cell::new(false),
            dirty: RefCell::default(),
            flush_pending: Cell::new(false),
            names: RefCell::new(cases.iter().map(|c| (c.id, c.child_name.clone())).collect()),
            before_remote: RefCell::default(),
            next_hook: Cell::new(0),
            handlers: RefCell::default(),
            status: RwSignal::new(SyncStatus {
                link: Link::Offline,
                unsent: 0,
                waiting: Vec::new(),
                problem: None,
                not_stored: false,
            }),
            account: RwSignal::new(me.map_or(Account::SignedOut, Account::SignedIn)),
            presence: RefCell::default(),
            presence_changed: RwSignal::new(0),
            registered: RefCell::new(registered),
            wiped: Cell::new(false),
            cases: RwSignal::new(cases),
            remote: RwSignal::new(0),
            local: RwSignal::new(0),
            stale_rows: RefCell::default(),
            rows_pending: Cell::new(false),
            roles: RwSignal::new(roles),
            first_unsent: RefCell::default(),
            notices: RwSignal::new(Vec::new()),
            refused_handover: RefCell::default(),
            at_start,
            engine_started: Cell::new(false),
            lifecycle_watched: Cell::new(false),
            opening: RefCell::default(),
        };
        let repo = Repo(SendWrapper::new(Rc::new(inner)));
        repo.start_engine();
        Ok(repo)
    }

    /// Starts syncing as soon as the sync engine is here (a separate download, fetched while
    /// the caseload shows: see [`crate::later`]). Until then the status bar says "Offline";
    /// if it cannot be fetched, it is tried again every few seconds, and after a few tries the
    /// person is told.
    fn start_engine(&self) {
        let repo = self.clone();
        leptos::task::spawn_local(async move {
            let mut tries = 0;
            while let Err(e) = start_syncing(repo.clone()).await {
                tries += 1;
                if tries == ENGINE_TRIES_BEFORE_TELLING {
                    repo.tell(format!(
                        "Your changes cannot be shared from this device yet. {e}"
                    ));
                }
                gloo_timers::future::sleep(std::time::Duration::from_millis(ENGINE_RETRY_MS)).await;
            }
        });
    }

    /// Tells the others who have this case open where we are in it.
    pub fn announce(&self, id: &DocumentId, presence: &Presence) {
        let effects = self.0.client.borrow_mut().broadcast(id, presence.encode());
        self.run(effects);
    }

    /// Who else has this case open now (reactive).
    pub fn people_here(&self, id: &DocumentId) -> Vec<Presence> {
        self.0.presence_changed.track();
        self.0
            .presence
            .borrow()
            .get(id)
            .map(PresenceBook::people)
            .unwrap_or_default()
    }

    /// Forgets people not heard from for a while (a closed laptop, a lost connection).
    fn expire_presence(&self) {
        let repo = self.clone();
        gloo_timers::callback::Interval::new(1_000, move || {
            let now = js_sys::Date::now();
            // Every book is expired (no short-circuit), then: did anyone leave?
            let gone = repo
                .0
                .presence
                .borrow_mut()
                .values_mut()
                .fold(false, |gone, book| book.expire(now) | gone);
            if gone {
                repo.0.presence_changed.update(|n| *n += 1);
            }
        })
        .forget();
    }

    pub fn account(&self) -> ReadSignal<Account> {
        self.0.account.read_only()
    }

    /// Someone signed in: remember who (so the app opens offline next time) and start syncing
    /// as them.
    pub async fn signed_in(&self, me: Me) -> Result<(), StoreError> {
        self.remember(&me).await?;
        self.0.account.set(Account::SignedIn(me));
        self.0.attempt.set(0);
        // If the engine is not here yet, it connects when it arrives.
        if self.0.engine_started.get() {
            let _ = connect_now(self.clone()).await;
        }
        Ok(())
    }

    /// Edits not yet shared with the relay, across every open case.
    pub fn unsent(&self) -> usize {
        self.0.status.with_untracked(|s| s.unsent)
    }

    /// Signing out: stop syncing and remove every case from this device.
    pub async fn wipe(&self) -> Result<(), StoreError> {
        self.stop_everything();
        self.0.store.wipe().await
    }

    /// Shows `account` again after [`Repo::wipe`] (which shows the sign-in page), while a
    /// cleared device finishes telling the relay before it reloads.
    pub fn show(&self, account: Account) {
        self.0.account.set(account);
    }

    /// From now on nothing in memory is stored or sent (the device is being cleared, here or in
    /// another tab); the caller reloads the page.
    pub fn stop_everything(&self) {
        self.0.wiped.set(true);
        self.0.queue.borrow_mut().clear();
        self.0.dirty.borrow_mut().clear();
        self.0.account.set(Account::SignedOut);
        self.disconnect();
    }

    /// A small value kept on this device (not part of any case document).
    pub async fn meta(&self, key: &str) -> Option<String> {
        self.0.store.get_meta(key).await.ok().flatten()
    }

    pub async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.0.store.put_meta(key, value).await
    }

    /// Who signed in last on this device, as stored (not as this tab remembers it).
    pub async fn stored_identity(&self) -> Option<Me> {
        self.0
            .store
            .get_meta(ME_KEY)
            .await
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
    }

    /// Remembers who signed in on this device, so the app opens as them offline (and after a
    /// reload that cleared the device for them).
    pub async fn remember(&self, me: &Me) -> Result<(), StoreError> {
        let json = serde_json::to_string(me).expect("Me serialises");
        self.0.store.put_meta(ME_KEY, &json).await
    }

    /// Closes the socket and does not come back until someone signs in.
    fn disconnect(&self) {
        self.0.generation.set(self.0.generation.get() + 1);
        if let Some(ws) = self.0.socket.borrow_mut().take() {
            ws.set_onclose(None);
            let _ = ws.close();
        }
        self.0.client.borrow_mut().disconnected();
        self.0.status.update(|s| s.link = Link::Offline);
        // Offline, we cannot tell who else is here.
        if !self.0.presence.borrow().is_empty() {
            self.0.presence.borrow_mut().clear();
            self.0.presence_changed.update(|n| *n += 1);
        }
    }

    /// The relay says the session has ended: keep everything, ask the person to sign in. If
    /// it ended because the person has left the service, this device hands over its cases and
    /// clears itself ([`crate::session::left_service`]).
    fn session_ended(&self) {
        self.disconnect();
        let account = self.0.account.get_untracked();
        if let Account::SignedIn(me) = account {
            self.0.account.set(Account::Ended(me.clone()));
            let repo = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Only their own session: someone else may have signed in on this browser since.
                match api::leaving().await {
                    Ok(left) if left.id == me.id => {
                        repo.0
                            .account
                            .set(Account::Leaving(me.clone(), left.hand_over));
                        crate::session::left_service(&repo, left).await;
                    }
                    _ => {}
                }
            });
        }
    }

    /// This person has left the service: each case the relay lists as theirs is handed over
    /// and removed from this device, as when leaving one team. Answers the names of the cases
    /// still here (never shared with the relay, or refused); the rest are gone.
    pub async fn hand_over_everything(&self) -> Result<Vec<String>, CallError> {
        self.hand_over_departures().await?;
        let kept: Vec<DocumentId> = self
            .0
            .cases
            .with_untracked(|c| c.iter().map(|c| c.id).collect());
        Ok(kept.iter().map(|id| self.child_name_of(id)).collect())
    }

    /// Tells the relay about cases made on this device that it does not know yet, so they
    /// sync. Stops at the first sign of being offline or signed out.
    async fn register_cases(&self, ids: Vec<DocumentId>) -> Result<(), CallError> {
        let mut added = false;
        for id in ids {
            if self.0.registered.borrow().contains(&id) {
                continue;
            }
            match api::register_case(&id).await {
                Ok(()) => {
                    self.0.registered.borrow_mut().insert(id);
                    added = true;
                    let effects = self.0.client.borrow_mut().resync(&id);
                    self.run(effects);
                }
                // Someone else's case that this person is not (or no longer) in the team for:
                // the relay will not sync it; the copy stays here untouched.
                Err(CallError::Refused(..)) => {}
                Err(e) => return Err(e),
            }
        }
        if added {
            let ids: Vec<String> = self
                .0
                .registered
                .borrow()
                .iter()
                .map(|id| id.to_string())
                .collect();
            let json = serde_json::to_string(&ids).expect("ids serialise");
            if let Err(e) = self.0.store.put_meta(REGISTERED_KEY, &json).await {
                self.0.status.update(|s| s.problem = Some(e.to_string()));
            }
        }
        Ok(())
    }

    /// Fetches the cases this person is in the team for but that are not on this device yet
    /// (e.g. a new laptop, or a colleague's invitation), and opens the rest to sync them.
    pub async fn fetch_my_cases(&self) -> Result<(), CallError> {
        let mine = api::my_cases().await?;
        if self.0.wiped.get() {
            return Ok(());
        }
        if let Ok(json) = serde_json::to_string(&mine) {
            let _ = self.0.store.put_meta(ROLES_KEY, &json).await;
        }
        self.0.roles.set(
            mine.iter()
                .filter_map(|c| Some((c.id.parse().ok()?, c.role)))
                .collect(),
        );
        let mut away = self.meta_map(PUT_AWAY_KEY).await;
        for case in mine {
            let Ok(id) = case.id.parse::<DocumentId>() else {
                continue;
            };
            self.0.registered.borrow_mut().insert(id);
            // A closed case put away from this device comes back only if it changed since
            // (both times are the relay's).
            if let Some(at) = away.get(&case.id).copied() {
                if case.last_change_at.is_some_and(|c| c > at) {
                    away.remove(&case.id);
                    // Before opening it, so opening does not count as on purpose.
                    self.put_meta_map(PUT_AWAY_KEY, &away).await;
                } else {
                    continue;
                }
            }
            // Every case of mine is kept in sync, so the caseload stays current: those not on
            // this device are fetched, the others opened, a case at a time.
            if self.0.wiped.get() {
                return Ok(());
            }
            if !self.0.client.borrow().holds(&id) {
                let _ = self.open(id).await;
                gloo_timers::future::sleep(std::time::Duration::ZERO).await;
            }
        }
        Ok(())
    }

    /// Cases this person has left ([`Repo::hand_over_departures`]), then cases closed longer ago
    /// than the council keeps them on devices: each one on this device is handed to the relay
    /// and removed ([`Repo::hand_over`]).
    async fn put_away_cases(&self) -> Result<(), CallError> {
        self.hand_over_departures().await?;
        let policy = api::device_policy().await?;
        let now = js_sys::Date::now() as i64;
        let today = shared::record::dates::uk_day(now);
        let quiet_ms = i64::from(policy.closed_case_days) * 24 * 3600 * 1000;
        let kept = self.meta_map(KEPT_KEY).await;
        let roles = self.0.roles.get_untracked();
        let busy = self.0.first_unsent.borrow().clone();
        let candidates: Vec<(DocumentId, String, Option<CaseRow>)> =
            self.0.cases.with_untracked(|cases| {
                cases
                    .iter()
                    // Only cases this person is on (the rest are for departures), with nothing
                    // waiting to be shared, and not opened on purpose lately.
                    .filter(|c| roles.contains_key(&c.id) && !busy.contains_key(&c.id))
                    // Only cases already here when the page opened: a case never leaves in the
                    // session that fetched it (the person may be about to open it).
                    .filter(|c| self.0.at_start.contains(&c.id))
                    .filter(|c| {
                        kept.get(&c.id.to_string())
                            .is_none_or(|t| now - t > KEPT_MS)
                    })
                    .map(|c| (c.id, c.child_name.clone(), c.row.clone()))
                    .collect()
            });
        let mut put_away = Vec::new();
        for (id, name, row) in candidates {
            // A case whose caseload row is not worked out yet (just fetched) is read for it.
            let row = match row {
                Some(row) => row,
                None => {
                    if self.open(id).await.is_err() {
                        continue;
                    }
                    match self.read(&id) {
                        Some(record) => CaseRow::from_record(&record),
                        None => continue,
                    }
                }
            };
            // Closed long ago, and nobody has worked on it since: a closure date typed in
            // wrongly on a live case does not take it off everyone's devices.
            let quiet = row.changed_at == 0 || now - row.changed_at > quiet_ms;
            if !row.closed_before(today, policy.closed_case_days) || !quiet {
                continue;
            }
            if let Some(at) = self.hand_over(id, RemovedBecause::Closed).await? {
                let mut away = self.meta_map(PUT_AWAY_KEY).await;
                away.insert(id.to_string(), at);
                self.put_meta_map(PUT_AWAY_KEY, &away).await;
                put_away.push(if name.trim().is_empty() {
                    "a child".to_string()
                } else {
                    name
                });
            }
        }
        let days = policy.closed_case_days;
        match put_away.as_slice() {
            [] => {}
            [one] => self.tell(format!(
                "The case for {one} closed more than {days} days ago, so it has been removed from this device. It is kept safely on the server, and anyone on the team can still open it from its link."
            )),
            many => self.tell(format!(
                "{} cases closed more than {days} days ago, so they have been removed from this device: {}. They are kept safely on the server, and anyone on the team can still open them from their links.",
                many.len(),
                many.join(", ")
            )),
        }
        Ok(())
    }

    /// Cases this person has left (removed from the team, consent withdrawn, or they left the
    /// service) or that were destroyed: each one on this device is handed to the relay and
    /// removed ([`Repo::hand_over`]), and the person told.
    async fn hand_over_departures(&self) -> Result<(), CallError> {
        self.report_removed_copies().await?;
        for departure in api::departures().await? {
            let Ok(id) = departure.case_id.parse::<DocumentId>() else {
                continue;
            };
            let name = self.child_name_of(&id);
            if departure.destroyed {
                if self
                    .hand_over(id, RemovedBecause::Destroyed)
                    .await?
                    .is_some()
                {
                    self.tell(format!(
                        "The case for {name} has reached the end of the time your organisation keeps records, and your records manager has destroyed it. It has been removed from this device."
                    ));
                }
            } else if self.hand_over(id, RemovedBecause::Left).await?.is_some() {
                self.tell(format!(
                    "You are no longer in the team for {name}. The case has been removed from this device. Anything you had not shared yet was sent to the team first."
                ));
            }
        }
        Ok(())
    }

    /// Hands this device's copy of a case to the relay, so anything not yet shared reaches the
    /// team, then removes the case from this device and tells the relay. Once removed, the
    /// relay's time it had the copy on disk; `None` if the case stays (a refusal is said once
    /// in a notice, and not tried again until the app starts again).
    async fn hand_over(
        &self,
        id: DocumentId,
        because: RemovedBecause,
    ) -> Result<Option<i64>, CallError> {
        let on_device = self
            .0
            .cases
            .with_untracked(|c| c.iter().any(|c| c.id == id))
            || self.0.client.borrow().holds(&id);
        let destroyed = because == RemovedBecause::Destroyed;
        // A destroyed case goes whatever state its copy is in: nothing of it is handed over.
        if !on_device
            || self.0.wiped.get()
            || (!destroyed
                && (self.0.refused_handover.borrow().contains(&id) || self.open(id).await.is_err()))
        {
            return Ok(None);
        }
        // What another tab stored and this one has not seen goes too.
        if !destroyed {
            if let Ok(stored) = self.0.store.load_document(&id).await {
                self.0.client.borrow_mut().take_in(&id, stored);
            }
        }
        // The case stays open while its copy travels: whatever is typed meanwhile goes in
        // another round, and the case is dropped only once nothing new was made. A case
        // destroyed under the records policy takes nothing more: it simply goes.
        let mut handed_over = None;
        if because == RemovedBecause::Destroyed {
            self.0.client.borrow_mut().forget(&id);
            handed_over = Some(0);
        }
        for _ in 0..5 {
            if handed_over.is_some() {
                break;
            }
            let Some((copy, heads)) = self.0.client.borrow_mut().document_mut(&id).map(|d| {
                // Saving commits anything still being typed, so it goes too.
                let copy = d.save();
                (copy, d.get_heads())
            }) else {
                return Ok(None);
            };
            let taken = match api::final_edits(&id, &copy).await {
                Ok(taken) => taken,
                // Left long ago (or before the relay kept departures): with nothing here the
                // relay lacks, there is nothing to hand over, and the copy still goes.
                Err(CallError::Refused(..))
                    if because == RemovedBecause::Left
                        && self.0.client.borrow_mut().unsent_changes(&id) == 0 =>
                {
                    shared::api::FinalEdits { new: 0, at: 0 }
                }
                Err(CallError::Refused(_, why)) => {
                    self.0.refused_handover.borrow_mut().insert(id);
                    let name = self.child_name_of(&id);
                    self.tell(format!(
                        "The case for {name} should leave this device, but its copy could not be handed over: {why} It stays on this device for now."
                    ));
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let unchanged = self
                .0
                .client
                .borrow_mut()
                .document_mut(&id)
                .is_some_and(|d| d.get_heads() == heads);
            if unchanged {
                // No await between the check and this: nothing can be typed in between.
                self.0.client.borrow_mut().forget(&id);
                handed_over = Some(taken.at);
                break;
            }
        }
        let Some(at) = handed_over else {
            return Ok(None);
        };
        self.0.dirty.borrow_mut().remove(&id);
        self.0.queue.borrow_mut().retain(|e| !effect_is_for(e, &id));
        // Anything showing the case redraws without it.
        self.0.remote.update(|n| *n += 1);
        if let Err(e) = self.0.store.remove_case(&id).await {
            self.0.status.update(|s| s.problem = Some(e.to_string()));
            return Ok(None);
        }
        self.0.cases.update(|c| c.retain(|c| c.id != id));
        self.0.registered.borrow_mut().remove(&id);
        if because != RemovedBecause::Closed {
            self.0.roles.update(|r| {
                r.remove(&id);
            });
        }
        self.refresh_status();
        // The relay is told which device's copy is gone; kept until it has heard.
        let mut pending = self.removed_copies().await;
        pending.push((id.to_string(), because));
        let _ = self
            .0
            .store
            .put_meta(
                REMOVED_COPIES_KEY,
                &serde_json::to_string(&pending).unwrap_or_default(),
            )
            .await;
        self.report_removed_copies().await?;
        Ok(Some(at))
    }

    fn child_name_of(&self, id: &DocumentId) -> String {
        self.0
            .cases
            .with_untracked(|c| c.iter().find(|c| c.id == *id).map(|c| c.child_name.clone()))
            .or_else(|| self.0.names.borrow().get(id).cloned())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "a child".into())
    }

    fn tell(&self, notice: String) {
        self.0.notices.update(|n| {
            if !n.contains(&notice) {
                n.push(notice);
            }
        });
    }

    /// A map of case id to Unix ms kept on this device.
    async fn meta_map(&self, key: &str) -> HashMap<String, i64> {
        self.0
            .store
            .get_meta(key)
            .await
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    async fn put_meta_map(&self, key: &str, map: &HashMap<String, i64>) {
        if let Ok(json) = serde_json::to_string(map) {
            let _ = self.0.store.put_meta(key, &json).await;
        }
    }

    /// Copies removed from this device, and why, not yet reported to the relay.
    async fn removed_copies(&self) -> Vec<(String, RemovedBecause)> {
        self.0
            .store
            .get_meta(REMOVED_COPIES_KEY)
            .await
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    /// This device's id, and every copy it is about to remove without handing anything over
    /// (its owner left the service and the relay takes nothing more from it), with removals
    /// not yet reported: what it tells the relay once they are gone.
    pub async fn copies_here(&self) -> Option<(String, Vec<(DocumentId, RemovedBecause)>)> {
        let device = self.0.store.storage_id().await.ok()?;
        let mut copies: Vec<(DocumentId, RemovedBecause)> = self
            .removed_copies()
            .await
            .into_iter()
            .filter_map(|(case, because)| case.parse().ok().map(|id| (id, because)))
            .collect();
        self.0.cases.with_untracked(|c| {
            copies.extend(c.iter().map(|c| (c.id, RemovedBecause::Left)));
        });
        Some((device, copies))
    }

    /// Tells the relay about each copy removed here that it has not heard of yet.
    async fn report_removed_copies(&self) -> Result<(), CallError> {
        let pending = self.removed_copies().await;
        if pending.is_empty() {
            return Ok(());
        }
        let device = self
            .0
            .store
            .storage_id()
            .await
            .map_err(|_| CallError::Offline)?;
        let mut left = Vec::new();
        for (case, because) in pending {
            let Ok(id) = case.parse::<DocumentId>() else {
                continue;
            };
            match api::copy_removed(&id, &device, because).await {
                // Refused: the relay no longer counts it (they rejoined, or left since).
                Ok(()) | Err(CallError::Refused(..)) => {}
                Err(_) => left.push((case, because)),
            }
        }
        let _ = self
            .0
            .store
            .put_meta(
                REMOVED_COPIES_KEY,
                &serde_json::to_string(&left).unwrap_or_default(),
            )
            .await;
        Ok(())
    }

    /// Things that happened without the person doing anything, to tell them.
    pub fn notices(&self) -> RwSignal<Vec<String>> {
        self.0.notices
    }

    /// My part in each case (lead professional or team member), as the relay last said.
    pub fn roles(&self) -> ReadSignal<HashMap<DocumentId, CaseRole>> {
        self.0.roles.read_only()
    }

    pub fn status(&self) -> ReadSignal<SyncStatus> {
        self.0.status.read_only()
    }

    pub fn cases(&self) -> ReadSignal<Vec<CaseSummary>> {
        self.0.cases.read_only()
    }

    /// Changes whenever a document changes other than by typing in this tab.
    pub fn remote_changes(&self) -> ReadSignal<u64> {
        self.0.remote.read_only()
    }

    /// Registers `f` to run just before each remote change is applied; returns a handle for
    /// [`Repo::remove_hook`]. Text fields use it to take Automerge cursors for the caret.
    pub fn before_remote_change(&self, f: impl Fn() + 'static) -> u32 {
        let id = self.0.next_hook.get();
        self.0.next_hook.set(id + 1);
        self.0.before_remote.borrow_mut().push((id, Rc::new(f)));
        id
    }

    pub fn remove_hook(&self, id: u32) {
        self.0.before_remote.borrow_mut().retain(|(h, _)| *h != id);
    }

    /// Tracks changes to documents, remote or flushed local ones (for derived views like
    /// summaries and item lists).
    pub fn track_changes(&self) {
        self.0.remote.track();
        self.0.local.track();
    }

    /// Starts a new case and stores it on the device.
    pub fn create_case(&self, child_name: &str) -> Result<DocumentId, RecordError> {
        let doc = CaseRecord::new(child_name).into_document()?;
        let (id, effects) = self.0.client.borrow_mut().create(doc);
        self.run(effects);
        self.note_document(id, true);
        // The relay syncs only cases it knows; offline, this happens on the next connection.
        if matches!(self.0.account.get_untracked(), Account::SignedIn(_)) {
            let repo = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = repo.register_cases(vec![id]).await;
            });
        }
        Ok(id)
    }

    /// Makes a case available to read: from memory, from the device, or by asking the relay.
    pub async fn open(&self, id: DocumentId) -> Result<(), StoreError> {
        if self.0.client.borrow().holds(&id) {
            return Ok(());
        }
        if crate::damaged::contains(&id) {
            let child = self
                .0
                .cases
                .get_untracked()
                .into_iter()
                .find(|c| c.id == id)
                .map(|c| c.child_name)
                .filter(|n| !n.trim().is_empty());
            let case = match child {
                Some(name) => format!("{name}'s case"),
                None => "This case".to_string(),
            };
            return Err(StoreError::Damaged(case, short_id(&id)));
        }
        // Another part of the app (the caseload's rows, say) is reading this case from the
        // device already: wait for it rather than read and decode the same bytes twice. If it
        // did not end up holding the case (it failed, or was dropped), look again: someone
        // else may be reading it by then, or it is read here.
        loop {
            let waiting = self.0.opening.borrow_mut().get_mut(&id).map(|waiters| {
                let (done, wait) = futures::channel::oneshot::channel();
                waiters.push(done);
                wait
            });
            let Some(wait) = waiting else { break };
            let _ = wait.await;
            if self.0.client.borrow().holds(&id) {
                return Ok(());
            }
        }
        let _reading = Reading::start(self, id);
        let stored = self.0.store.load_document(&id).await?;
        crate::mark("case-read-from-disk");
        // Another open() may have finished while we awaited.
        if self.0.client.borrow().holds(&id) {
            return Ok(());
        }
        if stored.iter().any(|(k, _)| k.is_chunk()) {
            self.0.client.borrow_mut().load(id, stored);
            crate::mark("case-decoded");
            self.note_document(id, false);
            self.refresh_status();
        } else {
            // A closed case put away from this device, opened on purpose: it stays a while.
            let mut away = self.meta_map(PUT_AWAY_KEY).await;
            if away.remove(&id.to_string()).is_some() {
                self.put_meta_map(PUT_AWAY_KEY, &away).await;
                let mut kept = self.meta_map(KEPT_KEY).await;
                kept.insert(id.to_string(), js_sys::Date::now() as i64);
                self.put_meta_map(KEPT_KEY, &kept).await;
            }
            if self.0.client.borrow().holds(&id) {
                return Ok(());
            }
            let effects = self.0.client.borrow_mut().request(id);
            self.run(effects);
        }
        self.0.remote.update(|n| *n += 1);
        Ok(())
    }

    pub fn holding(&self, id: &DocumentId) -> Option<Holding> {
        self.0.client.borrow().holding(id)
    }

    /// Reads a case as it stands now.
    pub fn read(&self, id: &DocumentId) -> Option<CaseRecord> {
        let client = self.0.client.borrow();
        CaseRecord::from_document(client.document(id)?).ok()
    }

    /// Runs `f` on the document (reading or writing), e.g. for text cursors.
    pub fn with_doc<R>(
        &self,
        id: &DocumentId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> R,
    ) -> Option<R> {
        let mut client = self.0.client.borrow_mut();
        client.document_mut(id).map(f)
    }

    /// A local edit happened: store and send it shortly (at most ~0.4 s later, sooner when
    /// someone else has the case open).
    pub fn edited(&self, id: DocumentId) {
        if self.0.wiped.get() {
            return;
        }
        self.0.dirty.borrow_mut().insert(id);
        // A case screen can be typed in before the sync engine has started (it arrives apart).
        self.watch_page_lifecycle();
        self.0
            .first_unsent
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| js_sys::Date::now() as i64);
        self.refresh_status();
        if !self.0.flush_pending.replace(true) {
            let others_here = self
                .0
                .presence
                .borrow()
                .get(&id)
                .is_some_and(|book| !book.is_empty());
            let after = if others_here {
                FLUSH_LIVE_MS
            } else {
                FLUSH_AFTER_MS
            };
            let repo = self.clone();
            gloo_timers::callback::Timeout::new(after as u32, move || repo.flush()).forget();
        }
    }

    /// A local edit that changes the case's shape (an item added or removed): redraw now.
    pub fn reshaped(&self, id: DocumentId) {
        self.edited(id);
        self.0.local.update(|n| *n += 1);
    }

    /// Stores and sends every pending local edit now.
    pub fn flush(&self) {
        let (ids, effects) = self.take_pending();
        self.run(effects);
        for id in ids {
            self.note_document(id, true);
        }
    }

    /// The effects that store and send every pending local edit, and the documents they are for.
    fn take_pending(&self) -> (Vec<DocumentId>, Vec<Effect>) {
        self.0.flush_pending.set(false);
        let ids: Vec<_> = self.0.dirty.borrow_mut().drain().collect();
        if !ids.is_empty() {
            self.0.local.update(|n| *n += 1);
        }
        let mut client = self.0.client.borrow_mut();
        client.set_time((js_sys::Date::now() / 1000.0) as i64);
        let effects = ids.iter().flat_map(|id| client.flush(id)).collect();
        (ids, effects)
    }

    /// Before the page goes elsewhere on purpose (to an organisation's sign-in): every edit
    /// typed so far is written to the device, and the write queue given up to 2 s to empty.
    /// (Nothing can have been typed if the sync engine is not here yet.)
    pub async fn store_before_leaving(&self) {
        if !self.0.engine_started.get() {
            return;
        }
        if let Ok(storing) = store_pending(self.clone()).await {
            storing.await;
        }
    }

    async fn store_pending_edits(&self) {
        if self.0.wiped.get() {
            return;
        }
        let (writes, rest) = self.take_pending_writes();
        if !writes.is_empty() {
            if let Err(e) = self.0.store.apply(&writes).await {
                self.storage_failed(&writes, e);
            }
        }
        self.run(rest);
        for _ in 0..40 {
            if !self.0.draining.get() && self.0.queue.borrow().is_empty() {
                return;
            }
            gloo_timers::future::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Pending edits as storage writes to make at once, and the other effects (sending).
    fn take_pending_writes(&self) -> (Vec<Write>, Vec<Effect>) {
        let (_, effects) = self.take_pending();
        let mut writes = Vec::new();
        let mut rest = Vec::new();
        for e in effects {
            match e {
                Effect::Put { .. } | Effect::Delete { .. } => writes.push(write_of(e)),
                other => rest.push(other),
            }
        }
        (writes, rest)
    }

    /// The page is being hidden or closed: store pending edits in a transaction of their own,
    /// started now, rather than behind whatever the effect queue is waiting on (which may never
    /// finish if the page goes away). Sending still goes through the queue.
    fn flush_urgently(&self) {
        if self.0.wiped.get() {
            return;
        }
        let (writes, rest) = self.take_pending_writes();
        if !writes.is_empty() {
            let repo = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = repo.0.store.apply(&writes).await {
                    repo.storage_failed(&writes, e);
                }
            });
        }
        self.run(rest);
    }

    fn run(&self, effects: Vec<Effect>) {
        if effects.is_empty() || self.0.wiped.get() {
            return;
        }
        self.0.queue.borrow_mut().extend(effects);
        if !self.0.draining.replace(true) {
            let repo = self.clone();
            wasm_bindgen_futures::spawn_local(async move { repo.drain().await });
        }
    }

    /// Carries out queued effects in order; consecutive storage writes go in one transaction.
    async fn drain(&self) {
        loop {
            let Some(effect) = self.0.queue.borrow_mut().pop_front() else {
                break;
            };
            match effect {
                Effect::Put { .. } | Effect::Delete { .. } => {
                    let mut writes = vec![write_of(effect)];
                    loop {
                        let mut q = self.0.queue.borrow_mut();
                        match q.front() {
                            Some(Effect::Put { .. } | Effect::Delete { .. }) => {
                                writes.push(write_of(q.pop_front().expect("front exists")));
                            }
                            _ => break,
                        }
                    }
                    if let Err(e) = self.0.store.apply(&writes).await {
                        self.storage_failed(&writes, e);
                    } else if self
                        .0
                        .status
                        .with_untracked(|s| s.problem.is_some() || s.not_stored)
                    {
                        self.0.status.update(|s| {
                            s.problem = None;
                            s.not_stored = false;
                        });
                    }
                }
                Effect::Send(frame) => {
                    if let Some(ws) = self.0.socket.borrow().as_ref() {
                        if ws.ready_state() == WebSocket::OPEN {
                            // A failed send surfaces as a close event, which resets sync.
                            let _ = ws.send_with_u8_array(&frame);
                        }
                    }
                }
                Effect::Changed(id) => {
                    self.note_document(id, true);
                    self.0.remote.update(|n| *n += 1);
                }
                Effect::Unavailable(_) => self.0.remote.update(|n| *n += 1),
                Effect::Connected { .. } => {
                    self.0.attempt.set(0);
                    self.0.status.update(|s| s.link = Link::Online);
                }
                Effect::Ephemeral {
                    document_id,
                    sender_id,
                    data,
                } => {
                    // The relay binds each sender id to a session's prefix (`p<id>-`): a
                    // message claiming to be someone else is ignored.
                    if let Some(presence) = Presence::decode(&data).filter(|p| {
                        sender_id.starts_with(&shared::api::peer_prefix(p.professional_id))
                    }) {
                        let changed = self
                            .0
                            .presence
                            .borrow_mut()
                            .entry(document_id)
                            .or_default()
                            .heard(&sender_id, presence, js_sys::Date::now());
                        if changed {
                            self.0.presence_changed.update(|n| *n += 1);
                        }
                    }
                }
            }
        }
        self.0.draining.set(false);
        self.refresh_status();
    }

    /// The device refused a write: tell the person, keep the change in memory, drop the frames
    /// queued behind it (they may carry the unsaved change; reconnecting resyncs), and retry.
    fn storage_failed(&self, writes: &[Write], error: StoreError) {
        let docs: HashSet<DocumentId> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put(k, _) | Write::Delete(k) => k.document(),
            })
            .collect();
        {
            let mut client = self.0.client.borrow_mut();
            for id in &docs {
                client.storage_failed(id);
            }
        }
        self.0
            .queue
            .borrow_mut()
            .retain(|e| !matches!(e, Effect::Send(_)));
        self.0.dirty.borrow_mut().extend(docs);
        self.0.status.update(|s| {
            s.problem = Some(error.to_string());
            s.not_stored = true;
        });
        if let Some(ws) = self.0.socket.borrow().as_ref() {
            let _ = ws.close();
        }
        // The edits stay in memory; try to store them again shortly (space may be freed, or
        // the browser may grant more), and again after that while it still fails.
        if !self.0.flush_pending.replace(true) {
            let repo = self.clone();
            gloo_timers::callback::Timeout::new(STORAGE_RETRY_MS, move || repo.flush()).forget();
        }
    }

    fn refresh_status(&self) {
        let mut waiting = self.0.client.borrow_mut().waiting();
        {
            // Not every change says when it was made: this tab noted its own first edit.
            let mut first = self.0.first_unsent.borrow_mut();
            first.retain(|id, _| waiting.iter().any(|w| w.id == *id));
            for w in &mut waiting {
                if let Some(t) = first.get(&w.id) {
                    w.since = if w.since == 0 { *t } else { w.since.min(*t) };
                }
            }
        }
        let unsent = waiting.iter().map(|w| w.changes).sum();
        if self
            .0
            .status
            .with_untracked(|s| s.unsent != unsent || s.waiting != waiting)
        {
            self.0.status.update(|s| {
                s.unsent = unsent;
                s.waiting = waiting;
            });
        }
    }

    /// Brings an old document up to the current schema, and keeps the case list's name for it
    /// up to date.
    fn note_document(&self, id: DocumentId, changed: bool) {
        let migrated = {
            let mut client = self.0.client.borrow_mut();
            match client.document_mut(&id) {
                Some(doc) if matches!(record::schema_version_of(doc), Ok(Some(v)) if v < record::SCHEMA_VERSION) => {
                    record::migrate(doc).is_ok()
                }
                _ => false,
            }
        };
        if migrated {
            self.edited(id);
        }
        // The caseload row reads the whole case, so it is taken once changes settle.
        self.row_stale(id, changed);
        // Only the family part is read: this runs after every flush while someone types.
        let Some(child_name) = self
            .0
            .client
            .borrow()
            .document(&id)
            .map(|doc| record::child_name(doc).unwrap_or_default())
        else {
            return;
        };
        if self.0.names.borrow().get(&id) == Some(&child_name) {
            return;
        }
        self.0.names.borrow_mut().insert(id, child_name.clone());
        let row = self
            .0
            .cases
            .with_untracked(|c| c.iter().find(|c| c.id == id).and_then(|c| c.row.clone()));
        self.put_summary(CaseSummary {
            id,
            child_name,
            row,
        });
    }

    /// Shows and keeps a case's summary.
    fn put_summary(&self, summary: CaseSummary) {
        self.show_summaries(std::slice::from_ref(&summary));
        self.keep_summaries(vec![summary]);
    }

    /// Puts summaries in the caseload on screen, in one update (one redraw).
    fn show_summaries(&self, summaries: &[CaseSummary]) {
        if self.0.wiped.get() || summaries.is_empty() {
            return;
        }
        self.0.cases.update(|cases| {
            cases.retain(|c| !summaries.iter().any(|s| s.id == c.id));
            cases.extend(summaries.iter().cloned());
            cases.sort_by_key(|c| c.child_name.to_lowercase());
        });
    }

    /// Stores summaries on the device (never once the device is being cleared).
    fn keep_summaries(&self, summaries: Vec<CaseSummary>) {
        let repo = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            for summary in summaries {
                if repo.0.wiped.get() {
                    return;
                }
                if let Err(e) = repo.0.store.put_summary(&summary).await {
                    repo.0.status.update(|s| s.problem = Some(e.to_string()));
                }
            }
        });
    }

    /// Notes that a case's caseload row must be taken again (`changed`: the case changed,
    /// rather than was only read from the device), a moment after changes settle.
    fn row_stale(&self, id: DocumentId, changed: bool) {
        *self.0.stale_rows.borrow_mut().entry(id).or_default() |= changed;
        if !self.0.rows_pending.replace(true) {
            let repo = self.clone();
            gloo_timers::callback::Timeout::new(ROW_DELAY_MS, move || repo.refresh_rows()).forget();
        }
    }

    /// Takes the caseload rows of the cases changed since last time, one case per task so
    /// typing goes on in between, and shows them together.
    fn refresh_rows(&self) {
        self.0.rows_pending.set(false);
        let ids: Vec<(DocumentId, bool)> = self.0.stale_rows.borrow_mut().drain().collect();
        let repo = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut fresh = Vec::new();
            for (id, changed) in ids {
                if repo.0.wiped.get() {
                    return;
                }
                // Still being typed in: reading the document now would commit the typing
                // without a time. Taken after the next flush instead.
                if repo.with_doc(&id, |doc| doc.pending_ops() > 0) == Some(true) {
                    repo.row_stale(id, changed);
                    continue;
                }
                let Some(record) = repo.read(&id) else {
                    continue;
                };
                let Some(mut row) = repo.with_doc(&id, |doc| {
                    CaseRow::from_record(&record).with_last_change(doc.document())
                }) else {
                    continue;
                };
                // Named from the receipts this device keeps for the case, if any.
                if let Some(p) = row.changed_by {
                    row.changed_by_name = repo
                        .meta(&format!("receipts-{id}"))
                        .await
                        .and_then(|json| serde_json::from_str::<shared::api::Receipts>(&json).ok())
                        .and_then(|r| r.author(p).map(|a| a.name.clone()))
                        .unwrap_or_default();
                }
                let current = repo
                    .0
                    .cases
                    .with_untracked(|c| c.iter().find(|c| c.id == id).cloned());
                // Not every change says when it was made: then it changed now, if it did.
                if row.changed_at == 0 {
                    row.changed_at = if changed {
                        js_sys::Date::now() as i64
                    } else {
                        current
                            .as_ref()
                            .and_then(|c| c.row.as_ref())
                            .map_or(0, |r| r.changed_at)
                    };
                }
                fresh.push(match current {
                    Some(c) if c.row.as_ref() == Some(&row) => continue,
                    Some(c) => CaseSummary {
                        row: Some(row),
                        ..c
                    },
                    None => CaseSummary {
                        id,
                        child_name: row.child.clone(),
                        row: Some(row),
                    },
                });
                gloo_timers::future::sleep(std::time::Duration::ZERO).await;
            }
            repo.show_summaries(&fresh);
            repo.keep_summaries(fresh);
        });
    }

    /// Cases kept by an earlier version have no caseload row: read each once, in the
    /// background, a case at a time.
    fn fill_missing_rows(&self) {
        let missing: Vec<DocumentId> = self
            .0
            .cases
            .with_untracked(|c| c.iter().filter(|c| c.row.is_none()).map(|c| c.id).collect());
        if missing.is_empty() {
            return;
        }
        let repo = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            for id in missing {
                if repo.0.wiped.get() {
                    return;
                }
                let _ = repo.open(id).await;
                gloo_timers::future::sleep(std::time::Duration::ZERO).await;
            }
        });
    }

    /// Checks the session, tells the relay about new cases, then opens the sync socket.
    fn connect(&self) {
        self.0.reconnect_pending.set(false);
        let Account::SignedIn(me) = self.0.account.get_untracked() else {
            return;
        };
        // Named after who is signed in now (the relay checks it against the session); the
        // same name for every connection of this page, so others see one of us.
        if !self
            .0
            .client
            .borrow()
            .peer_id()
            .starts_with(&me.peer_prefix)
        {
            self.0
                .client
                .borrow_mut()
                .set_peer_id(peer_id_for(Some(&me)));
        }
        let generation = self.0.generation.get() + 1;
        self.0.generation.set(generation);
        self.0.status.update(|s| s.link = Link::Connecting);
        let repo = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let checked = match api::current_session().await {
                Ok(current) if current.id == me.id => {
                    let ids = repo
                        .0
                        .cases
                        .with_untracked(|c| c.iter().map(|c| c.id).collect());
                    match repo.register_cases(ids).await {
                        // Cases this person was invited to, or made on another device.
                        Ok(()) => repo.fetch_my_cases().await,
                        Err(e) => Err(e),
                    }
                }
                // Someone else signed in on this browser since: this person's session is over.
                Ok(_) => Err(CallError::SignedOut),
                Err(e) => Err(e),
            };
            if repo.0.generation.get() != generation {
                return;
            }
            match checked {
                Ok(()) => {
                    repo.open_socket(generation);
                    // Then, never holding up sync: cases this person has left or that closed
                    // long ago leave this device, and cases opened offline go in their audit
                    // trails. Each is tried again at the next connection if it fails.
                    let repo = repo.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = repo.put_away_cases().await;
                        let _ = crate::viewed::report(me.id).await;
                    });
                }
                Err(CallError::SignedOut) => repo.session_ended(),
                Err(_) => {
                    repo.0.status.update(|s| s.link = Link::Offline);
                    repo.schedule_reconnect();
                }
            }
        });
    }

    /// Opens a WebSocket to the relay that served the app.
    fn open_socket(&self, generation: u32) {
        let Some(url) = sync_url() else { return };
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => return self.schedule_reconnect(),
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        self.0.status.update(|s| s.link = Link::Connecting);

        let repo = self.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if repo.0.generation.get() != generation {
                return;
            }
            let effects = repo.0.client.borrow_mut().connected();
            repo.run(effects);
            let repo2 = repo.clone();
            gloo_timers::callback::Timeout::new(HANDSHAKE_TIMEOUT_MS as u32, move || {
                if repo2.0.generation.get() == generation && !repo2.0.client.borrow().is_ready() {
                    repo2.drop_socket();
                }
            })
            .forget();
        });
        let repo = self.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if repo.0.generation.get() != generation {
                return;
            }
            let Ok(buf) = ev.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return repo.drop_socket();
            };
            let frame = js_sys::Uint8Array::new(&buf).to_vec();
            let hooks: Vec<_> = repo
                .0
                .before_remote
                .borrow()
                .iter()
                .map(|(_, f)| f.clone())
                .collect();
            for hook in hooks {
                hook();
            }
            let result = repo.0.client.borrow_mut().receive(&frame);
            match result {
                Ok(effects) => repo.run(effects),
                Err(e) => {
                    // The error names the problem and ids only, never case content.
                    web_sys::console::warn_1(&format!("sync: {e}").into());
                    repo.drop_socket();
                }
            }
        });
        let repo = self.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            if repo.0.generation.get() != generation {
                return;
            }
            if ev.code() == SESSION_ENDED {
                repo.session_ended();
            } else if ev.code() == NOT_YOURS {
                // Only edits made here by someone else signed in before (a shared laptop) can
                // cause this; they stay on this device, and syncing is tried again later.
                repo.0.status.update(|s| {
                    s.problem = Some(
                        "This device holds changes made by someone else who used it before you, so they cannot be shared under your name. Ask your administrator for help.".into(),
                    )
                });
                repo.drop_socket();
            } else {
                repo.drop_socket();
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.0.handlers.borrow_mut() =
            vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
        *self.0.socket.borrow_mut() = Some(ws);
    }

    /// Closes the current socket (if any), forgets what was in flight and tries again later.
    fn drop_socket(&self) {
        self.disconnect();
        self.schedule_reconnect();
    }

    fn schedule_reconnect(&self) {
        if self.0.reconnect_pending.replace(true) {
            return;
        }
        let attempt = self.0.attempt.get();
        self.0.attempt.set(attempt.saturating_add(1));
        let delay = reconnect_delay_ms(attempt, js_sys::Math::random());
        let repo = self.clone();
        gloo_timers::callback::Timeout::new(delay, move || repo.connect()).forget();
    }

    /// Saves pending edits when the page is hidden or closed, and reconnects at once when the
    /// browser says the network is back.
    fn watch_page_lifecycle(&self) {
        if self.0.lifecycle_watched.replace(true) {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let repo = self.clone();
        let on_hide = Closure::<dyn FnMut()>::new(move || repo.flush_urgently());
        let _ =
            window.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        if let Some(doc) = window.document() {
            let repo = self.clone();
            let on_visibility = Closure::<dyn FnMut()>::new(move || {
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
                if hidden {
                    repo.flush_urgently();
                }
            });
            let _ = doc.add_event_listener_with_callback(
                "visibilitychange",
                on_visibility.as_ref().unchecked_ref(),
            );
            on_visibility.forget();
        }
        let repo = self.clone();
        let on_online = Closure::<dyn FnMut()>::new(move || {
            if repo.0.socket.borrow().is_none()
                && repo.0.status.with_untracked(|s| s.link == Link::Offline)
            {
                repo.0.attempt.set(0);
                repo.connect();
            }
        });
        let _ =
            window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        // These live as long as the page.
        on_hide.forget();
        on_online.forget();
    }
}

/// The sync connection's name: it must start with the session's prefix, which binds the socket
/// to the person signed in.
fn peer_id_for(me: Option<&Me>) -> String {
    let prefix = me.map_or("browser-", |me| me.peer_prefix.as_str());
    format!("{prefix}{}", DocumentId::random())
}

fn write_of(effect: Effect) -> Write {
    match effect {
        Effect::Put { key, data } => Write::Put(key, data),
        Effect::Delete { key } => Write::Delete(key),
        _ => unreachable!("only storage effects are batched"),
    }
}

/// `ws(s)://<host>/sync` on the origin that served the app.
fn sync_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/sync", location.host().ok()?))
}

/// A case's id as a person can quote it: the first 8 characters after `automerge:`.
pub fn short_id(id: &DocumentId) -> String {
    let full = id.to_string();
    full.trim_start_matches("automerge:")
        .chars()
        .take(8)
        .collect()
}

/// Whether a queued effect stores, deletes or sends something of this document.
fn effect_is_for(effect: &Effect, id: &DocumentId) -> bool {
    match effect {
        Effect::Put { key, .. } | Effect::Delete { key } => key.document().as_ref() == Some(id),
        Effect::Changed(d) | Effect::Unavailable(d) => d == id,
        Effect::Ephemeral { document_id, .. } => document_id == id,
        Effect::Send(_) | Effect::Connected { .. } => false,
    }
}

// The sync engine (Automerge and everything that reads or writes a case document) comes with
// the later part: these are the ways in from the first screen.
later!(rest; fn start_syncing(repo: Repo) -> () {
    repo.0.engine_started.set(true);
    repo.connect();
    repo.fill_missing_rows();
    repo.watch_page_lifecycle();
    repo.expire_presence();
});
later!(rest; fn connect_now(repo: Repo) -> () { repo.connect() });
later!(rest; fn store_pending(repo: Repo) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(async move { repo.store_pending_edits().await })
});
later!(rest;
    /// Starts a new case for the child named, stored on this device at once.
    pub fn create_case(repo: Repo, child_name: String) -> Result<DocumentId, RecordError> {
        repo.create_case(&child_name)
    }
);
