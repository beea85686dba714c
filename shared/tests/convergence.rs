//! Convergence under faults, simulated: a relay (samod with its storage) and 5 clients (our
//! real [`SyncClient`]) edit one case while the network drops, duplicates and reorders
//! frames, clients are cut off, the relay restarts from its storage and clients restart from
//! theirs. After healing, every copy must have the same heads and the same case record, and
//! no change any client made may be missing.
//!
//! Deterministic: one seed drives every choice, and samod runs on a single-threaded local
//! executor that is run until it stalls after each step, so a seed replays the same schedule.
//! Each schedule prints its seed when it fails; failing seeds are kept in
//! `tests/fixtures/convergence-seeds.txt` and replayed first.
//!
//! `SIM_SCHEDULES` sets how many schedules to run (default 1,000; the long run is
//! `SIM_SCHEDULES=100000 cargo test --release -p shared --test convergence`), `SIM_SEED` the
//! first seed (default: a fixed one, so CI runs are repeatable).

use automerge::ChangeHash;
use futures::channel::mpsc;
use futures::executor::LocalPool;
use shared::record::edit::{self, List, Path};
use shared::record::family::{FamilyField, Person, Role};
use shared::record::CaseRecord;
use shared::storage_key::StorageKey;
use shared::sync::{Effect, SyncClient};
use shared::DocumentId;
use std::collections::{HashMap, HashSet, VecDeque};

const CLIENTS: usize = 5;
const STEPS: usize = 60;

/// splitmix64: small, good enough, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One client's connection to the relay: frames in flight each way, which the schedule
/// delivers, drops, duplicates or reorders.
struct Link {
    into_relay: mpsc::UnboundedSender<Result<Vec<u8>, std::io::Error>>,
    from_relay: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Sent by the client, not yet delivered to the relay.
    outbox: VecDeque<Vec<u8>>,
    /// Sent by the relay, not yet delivered to the client.
    inbox: VecDeque<Vec<u8>>,
}

struct Client {
    sync: SyncClient,
    /// The device's storage, as IndexedDB would hold it.
    store: HashMap<StorageKey, Vec<u8>>,
    link: Option<Link>,
    /// Every change this client made.
    made: HashSet<ChangeHash>,
    name: String,
}

impl Client {
    fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send(frame) => {
                    // Offline, a frame is simply not sent; the client resyncs on reconnect.
                    if let Some(link) = &mut self.link {
                        link.outbox.push_back(frame);
                    }
                }
                Effect::Put { key, data } => {
                    self.store.insert(key, data);
                }
                Effect::Delete { key } => {
                    self.store.remove(&key);
                }
                _ => {}
            }
        }
    }

    fn disconnect(&mut self) {
        self.link = None;
        self.sync.disconnected();
    }
}

struct Sim {
    rng: Rng,
    pool: LocalPool,
    storage: samod::storage::InMemoryStorage,
    repo: samod::Repo,
    clients: Vec<Client>,
    case: DocumentId,
    /// What happened, for a failing seed's report.
    log: Vec<String>,
}

fn relay(pool: &mut LocalPool, storage: &samod::storage::InMemoryStorage) -> samod::Repo {
    let load = samod::Repo::build_localpool(pool.spawner())
        .with_storage(storage.clone())
        .with_peer_id(samod::PeerId::from("relay"))
        .with_share_policy(samod::ShareConfig::read_write().with_announce(false))
        .load_local();
    pool.run_until(load)
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut pool = LocalPool::new();
        let storage = samod::storage::InMemoryStorage::new();
        let repo = relay(&mut pool, &storage);
        let clients = (0..CLIENTS)
            .map(|i| Client {
                sync: SyncClient::new(format!("client-{i}"), format!("device-{i}")),
                store: HashMap::new(),
                link: None,
                made: HashSet::new(),
                name: format!("client-{i}"),
            })
            .collect();
        let mut sim = Sim {
            rng: Rng(seed),
            pool,
            storage,
            repo,
            clients,
            case: DocumentId::random(),
            log: Vec::new(),
        };
        // Client 0 starts the case; everyone gets it before the faults begin.
        let doc = CaseRecord::new("Sam").into_document().unwrap();
        let (id, effects) = sim.clients[0].sync.create(doc);
        sim.case = id;
        sim.clients[0].run(effects);
        for c in 0..CLIENTS {
            sim.connect(c);
        }
        sim.settle();
        for c in 1..CLIENTS {
            let effects = sim.clients[c].sync.request(id);
            sim.clients[c].run(effects);
        }
        sim.settle();
        sim
    }

    fn connect(&mut self, c: usize) {
        let (into_relay, relay_in) = mpsc::unbounded();
        let (relay_out, from_relay) = mpsc::unbounded::<Vec<u8>>();
        let transport = samod::Transport::new(relay_in, relay_out);
        self.repo
            .make_acceptor(samod::Url::parse("sim://relay").unwrap())
            .unwrap()
            .accept(transport)
            .unwrap();
        let client = &mut self.clients[c];
        client.link = Some(Link {
            into_relay,
            from_relay,
            outbox: VecDeque::new(),
            inbox: VecDeque::new(),
        });
        let effects = client.sync.connected();
        client.run(effects);
    }

    /// Lets the relay work until it has nothing left to do, and collects what it sent.
    fn relay_runs(&mut self) {
        self.pool.run_until_stalled();
        for client in &mut self.clients {
            if let Some(link) = &mut client.link {
                while let Ok(frame) = link.from_relay.try_recv() {
                    link.inbox.push_back(frame);
                }
            }
        }
    }

    /// Hands the relay one frame from client `c` (the one at `at` in its outbox).
    fn deliver_to_relay(&mut self, c: usize, at: usize, duplicate: bool) {
        let Some(link) = &mut self.clients[c].link else {
            return;
        };
        let Some(frame) = link.outbox.remove(at) else {
            return;
        };
        let _ = link.into_relay.unbounded_send(Ok(frame.clone()));
        if duplicate {
            let _ = link.into_relay.unbounded_send(Ok(frame));
        }
        self.relay_runs();
    }

    /// Hands client `c` one frame from the relay. A frame the client refuses ends the
    /// connection, as the app does.
    fn deliver_to_client(&mut self, c: usize, at: usize, duplicate: bool) {
        let client = &mut self.clients[c];
        let Some(link) = &mut client.link else {
            return;
        };
        let Some(frame) = link.inbox.remove(at) else {
            return;
        };
        let times = if duplicate { 2 } else { 1 };
        for _ in 0..times {
            match client.sync.receive(&frame) {
                Ok(effects) => client.run(effects),
                Err(e) => {
                    self.log
                        .push(format!("{} dropped the connection: {e}", client.name));
                    client.disconnect();
                    return;
                }
            }
        }
    }

    /// One random edit by client `c`: text typed in the same box, people added to and
    /// removed from the same list, the same field set.
    fn edit(&mut self, c: usize) {
        let case = self.case;
        let kind = self.rng.below(4);
        let words = ["safe", "school", "sleep", "home", "worried", "well"];
        let word = words[self.rng.below(words.len())];
        let pick = self.rng.next();
        let client = &mut self.clients[c];
        let Some(doc) = client.sync.document_mut(&case) else {
            return;
        };
        let before: HashSet<_> = doc.get_heads().into_iter().collect();
        let result = match kind {
            0 => {
                let len = edit::get(doc, &Path::WorriedAbout)
                    .map(|t| t.encode_utf16().count())
                    .unwrap_or(0);
                let at = (pick as usize) % (len + 1);
                edit::splice_text(doc, &Path::WorriedAbout, at, 0, &format!("{word} "))
            }
            1 => edit::add(
                doc,
                &List::People,
                &Person::new(Role::Sibling, &format!("{word} {}", pick % 100)),
            ),
            2 => {
                let ids = edit::item_ids(doc, &List::People).unwrap_or_default();
                if ids.is_empty() {
                    Ok(())
                } else {
                    let id = &ids[(pick as usize) % ids.len()];
                    edit::remove(doc, edit::ItemKind::Person, id)
                }
            }
            _ => edit::set_text(
                doc,
                &Path::Family(FamilyField::Address),
                &format!("{} {word} Road", pick % 50),
            ),
        };
        result.unwrap_or_else(|e| panic!("{} could not edit: {e}", client.name));
        let effects = client.sync.flush(&case);
        client.run(effects);
        let doc = client.sync.document_mut(&case).unwrap();
        for change in doc.get_changes(&before.iter().copied().collect::<Vec<_>>()) {
            client.made.insert(change.hash());
        }
        self.log.push(format!("{} edit {kind}", client.name));
    }

    /// The relay dies: whatever it had not stored is gone, every connection drops, and it
    /// starts again from its storage.
    fn restart_relay(&mut self) {
        self.log.push("relay restarts".into());
        for client in &mut self.clients {
            client.disconnect();
        }
        let stop = self.repo.stop();
        self.pool.run_until(stop);
        self.repo = relay(&mut self.pool, &self.storage);
    }

    /// A client's tab closes and opens again: it comes back from its own storage only.
    fn restart_client(&mut self, c: usize) {
        let client = &mut self.clients[c];
        self.log.push(format!("{} restarts", client.name));
        client.disconnect();
        let mut fresh = SyncClient::new(client.name.clone(), format!("device-{c}"));
        let prefix = self.case.to_string();
        let stored: Vec<_> = client
            .store
            .iter()
            .filter(|(k, _)| k.parts().first() == Some(&prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            fresh.load(self.case, stored),
            0,
            "a stored chunk would not load"
        );
        client.sync = fresh;
    }

    fn step(&mut self) {
        let c = self.rng.below(CLIENTS);
        match self.rng.below(100) {
            0..=24 => self.edit(c),
            25..=49 => {
                let n = self.clients[c].link.as_ref().map_or(0, |l| l.outbox.len());
                if n > 0 {
                    // Mostly in order; sometimes out of order, dropped or twice.
                    let at = if self.rng.chance(20) {
                        self.rng.below(n)
                    } else {
                        0
                    };
                    if self.rng.chance(10) {
                        self.clients[c].link.as_mut().unwrap().outbox.remove(at);
                        self.log
                            .push(format!("{} → relay: dropped", self.clients[c].name));
                    } else {
                        let dup = self.rng.chance(10);
                        self.deliver_to_relay(c, at, dup);
                    }
                }
            }
            50..=79 => {
                self.relay_runs();
                let n = self.clients[c].link.as_ref().map_or(0, |l| l.inbox.len());
                if n > 0 {
                    let at = if self.rng.chance(20) {
                        self.rng.below(n)
                    } else {
                        0
                    };
                    if self.rng.chance(10) {
                        self.clients[c].link.as_mut().unwrap().inbox.remove(at);
                        self.log
                            .push(format!("relay → {}: dropped", self.clients[c].name));
                    } else {
                        let dup = self.rng.chance(10);
                        self.deliver_to_client(c, at, dup);
                    }
                }
            }
            80..=87 => {
                // Cut off (a partition) or back again.
                if self.clients[c].link.is_some() {
                    self.log.push(format!("{} cut off", self.clients[c].name));
                    self.clients[c].disconnect();
                } else {
                    self.log
                        .push(format!("{} reconnects", self.clients[c].name));
                    self.connect(c);
                }
            }
            88..=92 => self.restart_client(c),
            93..=95 => self.restart_relay(),
            _ => self.relay_runs(),
        }
    }

    /// Delivers everything, in order, until nobody has anything left to say.
    fn settle(&mut self) {
        for _ in 0..200 {
            self.relay_runs();
            let mut moved = false;
            for c in 0..CLIENTS {
                while self.clients[c]
                    .link
                    .as_ref()
                    .is_some_and(|l| !l.outbox.is_empty())
                {
                    self.deliver_to_relay(c, 0, false);
                    moved = true;
                }
            }
            self.relay_runs();
            for c in 0..CLIENTS {
                while self.clients[c]
                    .link
                    .as_ref()
                    .is_some_and(|l| !l.inbox.is_empty())
                {
                    self.deliver_to_client(c, 0, false);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the network did not go quiet after 200 rounds");
    }

    /// Heals every fault: fresh connections for all, a reliable network, then the checks.
    fn heal_and_check(&mut self) -> Result<(), String> {
        for c in 0..CLIENTS {
            self.clients[c].disconnect();
            self.connect(c);
        }
        self.settle();
        let relay_heads = {
            let find = self.repo.find(self.case.to_string().parse().unwrap());
            let handle = self
                .pool
                .run_until(find)
                .map_err(|_| "the relay stopped".to_string())?
                .ok_or("the relay lost the case")?;
            handle.with_document(|d| {
                let mut h = d.get_heads();
                h.sort();
                h
            })
        };
        let made: HashSet<ChangeHash> = self
            .clients
            .iter()
            .flat_map(|c| c.made.iter().copied())
            .collect();
        let mut record = None;
        for client in &mut self.clients {
            let name = client.name.clone();
            let doc = client
                .sync
                .document_mut(&self.case)
                .ok_or_else(|| format!("{name} does not hold the case"))?;
            let mut heads = doc.get_heads();
            heads.sort();
            if heads != relay_heads {
                return Err(format!("{name} has other heads than the relay"));
            }
            let missing = made
                .iter()
                .filter(|h| doc.get_change_by_hash(h).is_none())
                .count();
            if missing > 0 {
                return Err(format!("{name} is missing {missing} changes"));
            }
            let this = CaseRecord::from_document(&*doc).map_err(|e| e.to_string())?;
            match &record {
                None => record = Some(this),
                Some(first) if *first != this => {
                    return Err(format!("{name} reads a different case record"))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What the schedules did, summed, so a run shows it exercised the faults it claims to.
#[derive(Default, Debug)]
struct Tally {
    changes: usize,
    dropped: usize,
    relay_restarts: usize,
    client_restarts: usize,
    cut_off: usize,
}

impl Tally {
    fn add(&mut self, sim: &Sim) {
        self.changes += sim.clients.iter().map(|c| c.made.len()).sum::<usize>();
        let count = |what: &str| sim.log.iter().filter(|l| l.contains(what)).count();
        self.dropped += count("dropped");
        self.relay_restarts += count("relay restarts");
        self.client_restarts += count(" restarts") - count("relay restarts");
        self.cut_off += count("cut off");
    }
}

/// Runs one schedule; `Err` says what went wrong and what happened.
fn schedule(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut sim = Sim::new(seed);
        for _ in 0..STEPS {
            sim.step();
        }
        let checked = sim.heal_and_check();
        tally.add(&sim);
        checked.map_err(|e| {
            let tail: Vec<_> = sim.log.iter().rev().take(15).rev().cloned().collect();
            format!("{e}; last events: {}", tail.join(", "))
        })
    }));
    match outcome {
        Ok(result) => result,
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

const SEEDS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/convergence-seeds.txt"
);

#[test]
fn every_copy_converges_after_faults() {
    let count: u64 = std::env::var("SIM_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let first: u64 = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7ac_2026);
    // Seeds that failed once are replayed first.
    let kept: Vec<u64> = std::fs::read_to_string(SEEDS_FILE)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split('#').next()?.trim().parse().ok())
        .collect();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for seed in kept.iter().copied().chain(first..first + count) {
        if let Err(e) = schedule(seed, &mut tally) {
            eprintln!("convergence: seed {seed} failed: {e}");
            failures.push(seed);
            if !kept.contains(&seed) {
                use std::io::Write;
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(SEEDS_FILE)
                {
                    let _ = writeln!(f, "{seed}");
                }
            }
            if failures.len() >= 5 {
                break;
            }
        }
    }
    eprintln!(
        "convergence: {} kept seeds and {count} schedules from seed {first}, {CLIENTS} clients × {STEPS} steps, in {:.1} s",
        kept.len(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("convergence: {tally:?}");
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
    assert!(
        tally.changes > 0 && tally.dropped > 0 && tally.relay_restarts > 0,
        "the schedules exercised too little: {tally:?}"
    );
}
