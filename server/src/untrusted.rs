//! Checking others' Automerge bytes in worker processes, so no input can take the relay down.
//!
//! `shared::untrusted` catches the decoder's panics, but crafted input can do worse than panic:
//! the fuzzer found 80 bytes that make automerge 0.12 allocate more than 15 GiB before it
//! fails, and an allocation failure aborts the process rather than panicking. So the relay runs
//! the checks in `tac-relay decode-worker` processes, each limited to [`WORKER_MEMORY`] of
//! address space: a worker that aborts, runs out of memory or takes longer than
//! [`CHECK_TIMEOUT`] only refuses the input, and a fresh worker takes its place.
//!
//! Wire format between the relay and a worker, over its stdin and stdout: a request is one
//! byte of [`Kind`] and a little-endian `u32` length, then the bytes; the answer is one byte,
//! 0 for readable and 1 for refused.

use shared::untrusted::Rejected;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Address space a worker may use: far above any real case, far below the machine.
pub const WORKER_MEMORY: u64 = 1 << 30;
/// Longest a check may take before the worker is killed and the input refused. Generous: a
/// big case on a busy machine must not be mistaken for a hostile one (a stored chunk refused
/// for slowness would leave the case half-loaded until the next restart).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle workers kept for reuse.
const KEEP_IDLE: usize = 4;

/// What the bytes are.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub enum Kind {
    /// Chunks as stored (documents, changes).
    Chunks = 0,
    /// An automerge sync message.
    SyncMessage = 1,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// Runs checks in worker processes (or, with no worker program, in this process).
#[derive(Clone)]
pub struct Checker {
    program: Option<PathBuf>,
    idle: Arc<Mutex<Vec<Worker>>>,
    /// Checks (so workers) at once; the rest wait their turn.
    running: Arc<tokio::sync::Semaphore>,
}

impl Checker {
    /// `program` is the relay binary (run as `decode-worker`); `None` checks in this process
    /// (panics caught, but not aborts: for tools and tests that have no relay binary).
    pub fn new(program: Option<PathBuf>) -> Checker {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Checker {
            program,
            idle: Arc::default(),
            running: Arc::new(tokio::sync::Semaphore::new(2 * cores)),
        }
    }

    /// Whether the bytes may be handed to samod.
    pub async fn check(&self, kind: Kind, bytes: &[u8]) -> Result<(), Rejected> {
        let Some(program) = &self.program else {
            return check_here(kind, bytes);
        };
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|_| Rejected("the relay is stopping".into()))?;
        let worker = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match worker {
            Some(w) => w,
            None => match spawn(program) {
                Ok(w) => w,
                Err(e) => {
                    // Without workers (the binary moved, no processes left) the relay keeps
                    // serving, checking here: panics are still caught, only a memory bomb
                    // could now hurt it. Loud, so an operator fixes it.
                    tracing::error!(error = %e, "could not start a decode worker; checking in the relay itself");
                    return check_here(kind, bytes);
                }
            },
        };
        match tokio::time::timeout(CHECK_TIMEOUT, ask(&mut worker, kind, bytes)).await {
            Ok(Ok(answer)) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < KEEP_IDLE {
                    idle.push(worker);
                }
                if answer == 0 {
                    Ok(())
                } else {
                    Err(Rejected("the bytes do not decode".into()))
                }
            }
            // The worker died (out of memory, abort) or took too long: the input is refused.
            outcome => {
                let _ = worker.child.start_kill();
                let timed_out = outcome.is_err();
                tracing::warn!(
                    kind = kind as u8,
                    len = bytes.len(),
                    timed_out,
                    "a decode worker failed on input"
                );
                Err(Rejected(if timed_out {
                    "the decoder took too long".into()
                } else {
                    "the decoder crashed".into()
                }))
            }
        }
    }
}

fn spawn(program: &PathBuf) -> std::io::Result<Worker> {
    let mut child = Command::new(program)
        .arg("decode-worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdin = child.stdin.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    Ok(Worker {
        child,
        stdin,
        stdout,
    })
}

async fn ask(worker: &mut Worker, kind: Kind, bytes: &[u8]) -> std::io::Result<u8> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    let mut request = Vec::with_capacity(bytes.len() + 5);
    request.push(kind as u8);
    request.extend(len.to_le_bytes());
    request.extend(bytes);
    worker.stdin.write_all(&request).await?;
    worker.stdin.flush().await?;
    worker.stdout.read_u8().await
}

fn check_here(kind: Kind, bytes: &[u8]) -> Result<(), Rejected> {
    match kind {
        Kind::Chunks => shared::untrusted::check_chunks(bytes),
        Kind::SyncMessage => shared::untrusted::check_sync_message(bytes).map(|_| ()),
    }
}

/// `tac-relay decode-worker`: answers checks on stdin until it closes. Limits its own address
/// space first, so a decoding bomb ends this process, not the relay.
pub fn run_worker() -> std::io::Result<()> {
    use std::io::{Read, Write};
    limit_memory(WORKER_MEMORY);
    // Panics are expected (and caught) here: keep stderr quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    loop {
        let mut head = [0u8; 5];
        if input.read_exact(&mut head).is_err() {
            return Ok(()); // the relay closed the pipe
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut bytes = vec![0; len];
        input.read_exact(&mut bytes)?;
        let kind = if head[0] == Kind::SyncMessage as u8 {
            Kind::SyncMessage
        } else {
            Kind::Chunks
        };
        let answer = u8::from(check_here(kind, &bytes).is_err());
        output.write_all(&[answer])?;
        output.flush()?;
    }
}

#[cfg(unix)]
fn limit_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct we pass and touches nothing else.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if rc != 0 {
        eprintln!("decode-worker: could not limit memory");
    }
}

#[cfg(not(unix))]
fn limit_memory(_bytes: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_worker_program_the_relay_checks_itself() {
        let poisoned = shared::untrusted::fixtures::poisoned_document_chunk();
        let mut doc = automerge::AutoCommit::new();
        let good = doc.save();
        for checker in [
            Checker::new(None),
            Checker::new(Some(PathBuf::from("/nonexistent/tac-relay"))),
        ] {
            assert!(checker.check(Kind::Chunks, &good).await.is_ok());
            assert!(checker.check(Kind::Chunks, &poisoned).await.is_err());
        }
    }
}
