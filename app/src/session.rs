//! Signing in and out on this device.
//!
//! A device holds one person's cases. Signing out removes every case from the device
//! (IndexedDB) and every cached response, so a shared or lost laptop holds nothing; signing in
//! as someone else does the same first. Other open tabs are told, stop writing and reload. If
//! the relay cannot be reached to end the session, the device is still cleared, and the session
//! is ended on the next visit that reaches it.

use crate::api::{self, CallError};
use crate::sync::Repo;
use leptos::prelude::{GetUntracked, Update, WithUntracked};
use shared::api::{Leaving, Me};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Set while a sign-out has cleared the device but not yet reached the relay.
const SIGN_OUT_PENDING: &str = "tac-sign-out-pending";
/// Set when a leaver's device has handed over its cases and cleared itself.
const ACCOUNT_CLOSED: &str = "tac-account-closed";
/// What [`ACCOUNT_CLOSED`] holds: whether the cases were handed over first or only removed.
const HANDED_OVER: &str = "1";
const ONLY_REMOVED: &str = "removed";
/// Tabs of the app tell each other when the device is cleared.
const CHANNEL: &str = "tac-planner-session";

/// Someone has signed in (password, code, or their organisation's account). If the device
/// holds someone else's cases (or cases nobody is signed in for), they are removed first, after
/// asking if any edits have not been shared, and the page reloads.
pub async fn signed_in_as(repo: &Repo, me: Me) -> Result<(), String> {
    if let Some(storage) = local_storage() {
        // Any sign-out still to finish was for the previous session, not this one.
        let _ = storage.remove_item(SIGN_OUT_PENDING);
        let _ = storage.remove_item(ACCOUNT_CLOSED);
    }
    let stored = repo.stored_identity().await;
    let has_cases = repo.cases().with_untracked(|c| !c.is_empty());
    let someone_else = match &stored {
        Some(previous) => previous.id != me.id,
        None => has_cases,
    };
    if !someone_else {
        // Connecting also fetches the cases this person is in the team for.
        repo.signed_in(me).await.map_err(|e| e.to_string())?;
        return Ok(());
    }
    let unsent = repo.unsent();
    if unsent > 0 {
        let whose = stored.map_or("another person".to_string(), |p| p.name);
        let question = format!(
            "This device holds cases of {whose}, with {unsent} edits not yet shared. Signing in as someone else removes them from this device and those edits are lost. Continue?"
        );
        let sure = web_sys::window()
            .and_then(|w| w.confirm_with_message(&question).ok())
            .unwrap_or(false);
        if !sure {
            let _ = api::sign_out().await;
            return Err("You are still signed out. Ask the person whose cases are on this device to sign in and share their changes first.".into());
        }
    }
    repo.wipe().await.map_err(|e| e.to_string())?;
    clear_caches().await;
    tell_other_tabs();
    repo.remember(&me).await.map_err(|e| e.to_string())?;
    // Their own case list, not whatever of the previous person's was on screen.
    reload_at("/");
    Ok(())
}

/// Ends the session and clears the device, then shows the sign-in page.
pub async fn sign_out(repo: &Repo) -> Result<(), String> {
    // Cases opened while offline go in their audit trails while the session still works;
    // any left are reported at this person's next sign-in on this device.
    if let Some(me) = repo.account().with_untracked(|a| a.me().map(|m| m.id)) {
        let _ = crate::viewed::report(me).await;
    }
    sign_out_now_or_later().await;
    repo.wipe().await.map_err(|e| e.to_string())?;
    clear_caches().await;
    tell_other_tabs();
    reload_at("/sign-in");
    Ok(())
}

/// How often, and how many times, a hand-over that could not finish is tried again while the
/// page stays open (it starts again whenever the app does).
const LEAVING_RETRY_MS: u32 = 30_000;
const LEAVING_TRIES: u32 = 20;

/// This person has left the service (an administrator closed their account). If this
/// device's session may still hand over, every case goes to the relay with anything not yet
/// shared and leaves the device, then the cases opened here go in their audit trails. Then the
/// session ends and the device is cleared. A case that could not be handed over (never shared,
/// say) stays, with everything else, and the person is told. If the relay takes nothing more
/// from this device (signed out everywhere, or signed in here too long ago), it is cleared
/// at once. One tab does it at a time; the others wait, and reload when it has cleared the
/// device.
pub async fn left_service(repo: &Repo, left: Leaving) {
    let repo = repo.clone();
    one_tab_at_a_time("tac-planner-leaving", async move {
        hand_over_and_clear(&repo, left).await;
    })
    .await;
}

/// Runs `work` in one tab at a time (the Web Locks API): the others wait their turn, and a tab
/// whose turn comes after the device was cleared has reloaded by then. Without the API, or if
/// the browser refuses the lock (storage blocked, say), it runs at once.
async fn one_tab_at_a_time(lock: &str, work: impl std::future::Future<Output = ()> + 'static) {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsValue;
    let locks = web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &"locks".into()).ok())
        .filter(|l| !l.is_undefined());
    let request = locks.as_ref().and_then(|l| {
        Reflect::get(l, &"request".into())
            .ok()
            .and_then(|r| r.dyn_into::<Function>().ok())
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        return work.await;
    };
    let work = std::rc::Rc::new(std::cell::RefCell::new(Some(work)));
    let mine = work.clone();
    let held = Closure::once(move |_lock: JsValue| -> Promise {
        let Some(work) = mine.borrow_mut().take() else {
            return Promise::resolve(&JsValue::NULL);
        };
        wasm_bindgen_futures::future_to_promise(async move {
            work.await;
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Ok(asked) = request.call2(&locks, &lock.into(), held.as_ref()) {
        let _ = JsFuture::from(Promise::from(asked)).await;
    }
    let not_run = work.borrow_mut().take();
    if let Some(work) = not_run {
        work.await;
    }
}

async fn hand_over_and_clear(repo: &Repo, left: Leaving) {
    let me = left.id;
    let mut hand_over = left.hand_over;
    for _ in 0..LEAVING_TRIES {
        let handed = if hand_over {
            repo.hand_over_everything().await
        } else {
            Ok(Vec::new())
        };
        match handed {
            Ok(kept) if kept.is_empty() => {
                // Still theirs? Someone else may have signed in on this browser meanwhile.
                if !api::leaving().await.is_ok_and(|left| left.id == me) {
                    return;
                }
                let showing = repo.account().get_untracked();
                let clearing = if hand_over {
                    let _ = crate::viewed::report(me).await;
                    sign_out_now_or_later().await;
                    None
                } else {
                    repo.copies_here().await
                };
                if let Err(e) = repo.wipe().await {
                    repo.notices().update(|n| {
                        n.push(format!(
                            "This device could not be cleared: {e} Contact your administrator."
                        ))
                    });
                    return;
                }
                tell_other_tabs();
                if !hand_over {
                    // The copies are said to be gone once they are, and before signing out
                    // (which forgets the session the relay knows this device by). Meanwhile
                    // the page still says the account is closed: nobody signs in here yet,
                    // and each step checks the session is still this person's.
                    repo.show(showing);
                    let still_mine = || async { api::leaving().await.is_ok_and(|l| l.id == me) };
                    if let Some((device, copies)) = clearing {
                        if still_mine().await {
                            for (id, because) in copies {
                                let _ = api::copy_removed(&id, &device, because).await;
                            }
                        }
                    }
                    if still_mine().await {
                        sign_out_now_or_later().await;
                    }
                }
                clear_caches().await;
                if let Some(s) = local_storage() {
                    let said = if hand_over { HANDED_OVER } else { ONLY_REMOVED };
                    let _ = s.set_item(ACCOUNT_CLOSED, said);
                }
                reload_at("/sign-in");
                return;
            }
            Ok(kept) => {
                repo.notices().update(|n| {
                    n.push(format!(
                        "These cases could not be handed to their teams, so they are still on this device: {}. Contact your administrator.",
                        kept.join(", ")
                    ))
                });
                return;
            }
            // An administrator has since signed them out everywhere (or the hand-over time ran
            // out): nothing more is taken, so the device only removes what it holds.
            Err(CallError::SignedOut) => match api::leaving().await {
                Ok(left) if left.id == me && !left.hand_over => hand_over = false,
                _ => return,
            },
            // Offline, or the server could not take a copy just now: try again shortly.
            Err(_) => {
                gloo_timers::future::sleep(std::time::Duration::from_millis(
                    LEAVING_RETRY_MS.into(),
                ))
                .await
            }
        }
    }
    repo.notices().update(|n| {
        n.push("The server could not be reached, so your cases are still on this device. Open TAC Planner again when you are online.".into())
    });
}

/// Ends the session at the relay; offline, when it can next be reached.
async fn sign_out_now_or_later() {
    if let Err(CallError::Offline) = api::sign_out().await {
        if let Some(s) = local_storage() {
            let _ = s.set_item(SIGN_OUT_PENDING, "1");
        }
    }
}

/// Shown on the sign-in page after [`left_service`] cleared this device, until someone signs
/// in on it.
pub fn account_closed_notice() -> Option<&'static str> {
    let said = local_storage()?.get_item(ACCOUNT_CLOSED).ok().flatten()?;
    Some(if said == ONLY_REMOVED {
        "Your TAC Planner account has been closed, so your cases have been removed from this device."
    } else {
        "Your TAC Planner account has been closed, so your cases have been removed from this device. Anything you had not shared was sent to their teams first."
    })
}

/// Finishes a sign-out that was made offline, once the relay can be reached.
pub async fn finish_pending_sign_out() {
    let Some(storage) = local_storage() else {
        return;
    };
    if storage.get_item(SIGN_OUT_PENDING).ok().flatten().is_some()
        && !matches!(api::sign_out().await, Err(CallError::Offline))
    {
        let _ = storage.remove_item(SIGN_OUT_PENDING);
    }
}

thread_local! {
    /// This tab's end of the channel. Messages are posted through it too, because a channel
    /// object never hears its own messages: this tab must not react to its own clearing.
    static TABS: std::cell::RefCell<Option<web_sys::BroadcastChannel>> = const { std::cell::RefCell::new(None) };
}

/// When another tab clears the device, this one stops writing what it holds and reloads.
pub fn follow_other_tabs(repo: &Repo) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    let repo = repo.clone();
    let on_message = Closure::<dyn FnMut()>::new(move || {
        repo.stop_everything();
        reload_at("/");
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the page.
    on_message.forget();
    TABS.with(|t| *t.borrow_mut() = Some(channel));
}

fn tell_other_tabs() {
    TABS.with(|t| {
        if let Some(channel) = t.borrow().as_ref() {
            let _ = channel.post_message(&"cleared".into());
        }
    });
}

/// A fresh page: nothing of the cases stays in memory.
fn reload_at(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().replace(path);
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
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

/// Back from the organisation's own sign-in (the relay sends people to `/?signed_in`): the
/// session cookie is set; take it up as a sign-in here, then tidy the address.
pub async fn finish_provider_sign_in(repo: Repo) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let search = window.location().search().unwrap_or_default();
    if !search.split(['?', '&']).any(|p| p == "signed_in") {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
    if let Ok(me) = api::current_session().await {
        // Rare (they chose to keep another person's unshared edits): say so plainly, as the
        // question before it was asked.
        if let Err(e) = signed_in_as(&repo, me).await {
            let _ = window.alert_with_message(&e);
        }
    }
}

/// Why a sign-in with the organisation's account did not work, from the relay's `?sign_in=`.
pub fn provider_refusal() -> Option<&'static str> {
    let search = web_sys::window()?.location().search().ok()?;
    let reason = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|p| p.strip_prefix("sign_in="))?;
    Some(match reason {
        "expired" => "Your sign-in took too long or was already used. Sign in again.",
        "link_expired" => "That sign-in link has expired or has already been used. Ask your administrator for a new one.",
        "not_linked" => "Your organisation's account is not linked to TAC Planner yet. Ask your administrator to send you a sign-in link.",
        "refused" => "Your organisation did not sign you in, or your TAC Planner account has been closed. Contact your administrator.",
        _ => "We could not check your sign-in with your organisation. Try again, or contact your administrator.",
    })
}
