//! TAC Planner in the browser: Leptos views over a local-first client repo.
//!
//! - [`storage`]: the device's copy of every case (IndexedDB).
//! - [`damaged`]: cases whose bytes could not be read, set aside on this device.
//! - [`later`]: the part of the app fetched after the first screen.
//! - [`sync`]: runs the shared sans-IO sync core against the browser's WebSocket and storage.
//! - [`viewed`]: cases opened on this device, kept until the relay records them.
//! - [`views`]: the screens.

pub mod api;
pub mod damaged;
pub mod later;
pub mod session;
pub mod storage;
pub mod sync;
pub mod viewed;
pub mod views;

use wasm_bindgen::prelude::*;

/// Entry point: mounts the app and registers the service worker for offline start.
pub fn start() {
    damaged::install_panic_hook();
    damaged::watch_decoding();
    register_service_worker();
    ask_for_persistent_storage();
    later::fetch_rest();
    leptos::mount::mount_to_body(views::App);
}

/// Asks the browser not to clear this site's storage when space runs low: the device's copy
/// of a case may hold edits not yet shared. The browser may say no (it decides by how the site
/// is used); nothing else depends on the answer.
fn ask_for_persistent_storage() {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().storage().persist();
    }
}

/// A performance mark, so the time to open a case can be measured in the field and in the
/// benchmark (`cargo run -p e2e --release --bin open-case-bench`).
pub fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    // Absent on insecure origins other than localhost; the app still works online.
    if js_sys::Reflect::has(&window.navigator(), &JsValue::from_str("serviceWorker"))
        .unwrap_or(false)
    {
        let _ = window.navigator().service_worker().register("/sw.js");
    }
}
