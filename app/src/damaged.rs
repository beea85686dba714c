//! Cases whose bytes broke the decoder on this device, set aside so every other case works.
//!
//! automerge 0.12 can panic on crafted or damaged input, and in the browser a panic aborts the
//! whole app (see `shared::untrusted`). The shared sync core names the case it is decoding; if
//! decoding panics, [`install_panic_hook`] writes that case's id here (localStorage, which is
//! synchronous, so it is written before the abort) and reloads; a decode that dies without a
//! panic (memory exhausted) is caught at the next start by the note [`watch_decoding`] keeps.
//! After the reload the case is not decoded again, and its page says so; nothing stored for it
//! is deleted, so a fixed app or a repaired copy can still open it ("Try again").

use shared::DocumentId;

const KEY: &str = "tac-damaged-cases";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The cases set aside on this device.
pub fn list() -> Vec<DocumentId> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|text| {
            text.split_whitespace()
                .filter_map(|id| id.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn contains(id: &DocumentId) -> bool {
    list().contains(id)
}

fn save(ids: &[DocumentId]) {
    if let Some(s) = storage() {
        let text: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let _ = s.set_item(KEY, &text.join(" "));
    }
}

/// Sets a case aside.
pub fn add(id: DocumentId) {
    let mut ids = list();
    if !ids.contains(&id) {
        ids.push(id);
        save(&ids);
    }
}

/// Lets the app try to open a case again.
pub fn forget(id: &DocumentId) {
    let ids: Vec<_> = list().into_iter().filter(|d| d != id).collect();
    save(&ids);
}

/// Where the case being decoded is noted while it is: a tab that dies mid-decode without a
/// panic (out of memory aborts) leaves it here, and the next start sets the case aside. It is
/// kept per tab (sessionStorage, which outlives the tab's reloads): in localStorage, a second
/// tab starting while the first was decoding would set a healthy case aside.
const DECODING_KEY: &str = "tac-decoding-case";

fn tab_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn note_decoding(case: Option<DocumentId>) {
    if let Some(s) = tab_storage() {
        let _ = match case {
            Some(id) => s.set_item(DECODING_KEY, &id.to_string()),
            None => s.remove_item(DECODING_KEY),
        };
    }
}

/// At start: a decode that never finished last time sets its case aside. Then keeps the note
/// from now on.
pub fn watch_decoding() {
    // Notes left in localStorage by earlier versions.
    if let Some(s) = storage() {
        let _ = s.remove_item(DECODING_KEY);
    }
    if let Some(s) = tab_storage() {
        if let Some(id) = s
            .get_item(DECODING_KEY)
            .ok()
            .flatten()
            .and_then(|t| t.parse().ok())
        {
            add(id);
            let _ = s.remove_item(DECODING_KEY);
        }
    }
    shared::untrusted::observe_decoding(note_decoding);
}

/// Where the last panic happened, in localStorage.
const LAST_PANIC_KEY: &str = "tac-last-panic";

/// Logs panics to the console as before and, when one happens while a case's bytes are being
/// decoded, sets that case aside and reloads the app.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // Where it happened (source file and line, never the message, which could hold case
        // content), for support and tests: after a panic the app has stopped.
        if let (Some(place), Some(s)) = (info.location(), storage()) {
            let _ = s.set_item(
                LAST_PANIC_KEY,
                &format!("{}:{}", place.file(), place.line()),
            );
        }
        if let Some(case) = shared::untrusted::case_being_decoded() {
            add(case);
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    }));
}
