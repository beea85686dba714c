//! The part of the app the browser fetches after the first screen.
//!
//! The caseload and the sign-in page need neither Automerge nor the case screens, so the build
//! (`--features split`, see `scripts/split.mjs`) cuts the wasm in two: the first download
//! shows the caseload from the summaries stored on the device, and the rest (`rest`: syncing,
//! everything that reads or writes a case document, and every other screen) follows straight
//! after. A function declared with [`later!`] is where the cut falls: calling it fetches its
//! part if this page has not yet, then runs it. (One later part, not one for syncing and one
//! for the screens: both are needed at once, and calls between parts are slower.)
//!
//! Without the feature (native and browser tests) nothing is cut and the same functions simply
//! run. index.html turns the feature on, so every Trunk build is cut.

use leptos::prelude::*;

/// A part of the app could not be fetched (offline before the service worker held it, or the
/// relay was updated meanwhile). Nothing on the device is lost; trying again fetches it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLoaded;

impl std::fmt::Display for NotLoaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "Part of TAC Planner could not be loaded. Check your connection and reload the page.",
        )
    }
}

#[cfg(feature = "split")]
impl From<wasm_split_helpers::SplitLoaderError> for NotLoaded {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> Self {
        NotLoaded
    }
}

/// Declares `fn name(args) -> T { body }` in the part named `$part`, callable from anywhere
/// as `name(args).await`, which answers `Result<T, NotLoaded>`. The arguments and result are
/// moved whole (the part is code of this same build), so any Rust type may cross.
macro_rules! later {
    ($part:ident; $(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        #[cfg(feature = "split")]
        #[wasm_split_helpers::wasm_split($part, fallible)]
        $(#[$meta])*
        #[allow(unused_braces)]
        $vis fn $name($($arg: $ty),*) -> Result<$ret, $crate::later::NotLoaded> {
            Ok($body)
        }
        #[cfg(not(feature = "split"))]
        $(#[$meta])*
        #[allow(unused_braces)]
        $vis async fn $name($($arg: $ty),*) -> Result<$ret, $crate::later::NotLoaded> {
            Ok($body)
        }
    };
}
pub(crate) use later;

/// Starts fetching the rest of the app as the app starts: by the time the caseload has read
/// the device's store, it is on its way. (index.html also names it, so the service worker
/// keeps it for offline use.)
pub fn fetch_rest() {
    // Not Leptos's spawn: this runs before the app is mounted, which starts Leptos's executor.
    wasm_bindgen_futures::spawn_local(async {
        let _ = rest_part().await;
    });
}

// Empty: calling it fetches the part.
later!(rest; fn rest_part() -> () {});

/// A screen from the later part: "Loading…" while the part is fetched, then the screen, or a
/// plain error if it cannot be fetched. The screen is built in this place's reactive scope (it
/// finds the repo and the route's parameters as if it were written here), untracked as a
/// route's view is, and only if it is still wanted: not once the person has gone elsewhere
/// or signed out while the part was on its way.
pub fn screen<F>(show: fn() -> F) -> impl IntoView
where
    F: std::future::Future<Output = Result<AnyView, NotLoaded>> + 'static,
{
    // The browser has one thread: the wrapper only satisfies the view's bounds. The view
    // below holds the only strong handle, so the handle's going says the screen has gone.
    let built = send_wrapper::SendWrapper::new(std::rc::Rc::new(std::cell::RefCell::new(None)));
    let shown = RwSignal::new(None::<Result<(), NotLoaded>>);
    let into = send_wrapper::SendWrapper::new(std::rc::Rc::downgrade(&built));
    untrack(|| {
        leptos::task::spawn_local_scoped_with_cancellation(async move {
            if let Err(e) = rest_part().await {
                shown.set(Some(Err(e)));
                return;
            }
            if into.upgrade().is_none() {
                return;
            }
            let result = show().await.map(|view| {
                if let Some(into) = into.upgrade() {
                    *into.borrow_mut() = Some(view);
                }
            });
            shown.set(Some(result));
        })
    });
    move || {
        match shown.get() {
        None => view! { <p class="govuk-body" data-testid="loading">"Loading…"</p> }.into_any(),
        Some(result) => result
            .and_then(|()| built.borrow_mut().take().ok_or(NotLoaded))
            .unwrap_or_else(|e| {
                view! {
                    <div class="govuk-error-summary" role="alert" data-testid="not-loaded">
                        <h2 class="govuk-error-summary__title">"There is a problem"</h2>
                        <div class="govuk-error-summary__body"><p class="govuk-body">{e.to_string()}</p></div>
                    </div>
                }
                .into_any()
            }),
    }
    }
}
