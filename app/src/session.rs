//! Signing in and out on this device.
//!
//! Signing out removes every case from the device (IndexedDB) and every cached response, so a
//! shared or lost laptop holds nothing. If the relay cannot be reached to end the session, the
//! device is still cleared, and the session is ended on the next visit that reaches it.

use crate::api::{self, CallError};
use crate::sync::Repo;
use leptos::prelude::GetUntracked;
use wasm_bindgen_futures::JsFuture;

/// Set while a sign-out has cleared the device but not yet reached the relay.
const SIGN_OUT_PENDING: &str = "tac-sign-out-pending";

/// Signs in, and clears the device first if someone else's cases are on it.
pub async fn sign_in(repo: &Repo, email: &str, password: &str) -> Result<(), String> {
    let me = api::sign_in(email, password)
        .await
        .map_err(|e| e.to_string())?;
    let previous = repo.account().get_untracked().me().map(|m| m.id);
    if previous.is_some_and(|p| p != me.id) {
        repo.wipe().await.map_err(|e| e.to_string())?;
        clear_caches().await;
    }
    repo.signed_in(me).await.map_err(|e| e.to_string())?;
    let _ = repo.fetch_my_cases().await;
    Ok(())
}

/// Ends the session and clears the device, then shows the sign-in page.
pub async fn sign_out(repo: &Repo) -> Result<(), String> {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Err(CallError::Offline) = api::sign_out().await {
        if let Some(s) = &storage {
            let _ = s.set_item(SIGN_OUT_PENDING, "1");
        }
    }
    repo.wipe().await.map_err(|e| e.to_string())?;
    clear_caches().await;
    if let Some(w) = web_sys::window() {
        // A fresh page: nothing of the cases stays in memory either.
        let _ = w.location().replace("/sign-in");
    }
    Ok(())
}

/// Finishes a sign-out that was made offline, once the relay can be reached.
pub async fn finish_pending_sign_out() {
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return;
    };
    if storage.get_item(SIGN_OUT_PENDING).ok().flatten().is_some()
        && !matches!(api::sign_out().await, Err(CallError::Offline))
    {
        let _ = storage.remove_item(SIGN_OUT_PENDING);
    }
}

/// Removes every response the service worker cached (the app's own files come back on the
/// next online visit).
async fn clear_caches() {
    let Some(caches) = web_sys::window().and_then(|w| w.caches().ok()) else {
        return;
    };
    let Ok(keys) = JsFuture::from(caches.keys()).await else {
        return;
    };
    for key in js_sys::Array::from(&keys).iter() {
        if let Some(name) = key.as_string() {
            let _ = JsFuture::from(caches.delete(&name)).await;
        }
    }
}
