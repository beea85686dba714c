//! Who else has the case open, and where: announced to the others while the case is on screen,
//! shown quietly under the case's title and next to the field someone is in.

use super::use_repo;
use leptos::prelude::*;
use shared::presence::{Presence, HEARTBEAT_MS};
use shared::DocumentId;
use std::cell::Cell;
use std::rc::Rc;

/// Typing means a key pressed within this long.
const TYPING_MS: f64 = 2_000.0;

/// Announces where this person is in the case: every few seconds, and at once when they move to
/// another section or field or start typing; says goodbye when the case closes.
pub fn announce_presence(id: DocumentId, section: Memo<String>) {
    let repo = use_repo();
    let account = repo.account();
    let field = RwSignal::new(None::<String>);
    let last_key = Rc::new(Cell::new(f64::NEG_INFINITY));
    let typing = RwSignal::new(false);
    let current = {
        let last_key = last_key.clone();
        move |leaving: bool| -> Option<Presence> {
            let me = account.get_untracked().me().cloned()?;
            Some(Presence {
                professional_id: me.id,
                name: me.name,
                agency: me.agency_name,
                section: section.get_untracked(),
                field: field.get_untracked(),
                typing: js_sys::Date::now() - last_key.get() < TYPING_MS,
                leaving,
            })
        }
    };
    let send = {
        let (repo, current) = (repo.clone(), current.clone());
        move |leaving: bool| {
            if let Some(p) = current(leaving) {
                repo.announce(&id, &p);
            }
        }
    };
    // Moving (section or field) or starting/stopping typing: tell the others now.
    Effect::new({
        let send = send.clone();
        move |_| {
            section.track();
            field.track();
            typing.track();
            send(false);
        }
    });
    let focus = window_event_listener(leptos::ev::focusin, move |ev| {
        let id = event_target::<web_sys::Element>(&ev).id();
        field.set(id.starts_with("field-").then_some(id));
    });
    let keys = window_event_listener(leptos::ev::input, {
        let last_key = last_key.clone();
        move |_| {
            last_key.set(js_sys::Date::now());
            if !typing.get_untracked() {
                typing.set(true);
            }
        }
    });
    let heartbeat = {
        let send = send.clone();
        gloo_timers::callback::Interval::new((HEARTBEAT_MS / 3.0) as u32, {
            let mut ticks = 0u32;
            move || {
                let still_typing = js_sys::Date::now() - last_key.get() < TYPING_MS;
                if typing.get_untracked() != still_typing {
                    typing.set(still_typing);
                }
                ticks += 1;
                if ticks.is_multiple_of(3) {
                    send(false);
                }
            }
        })
    };
    let hide = window_event_listener(leptos::ev::pagehide, {
        let send = send.clone();
        move |_| send(true)
    });
    let goodbye = send_wrapper::SendWrapper::new((heartbeat, send));
    on_cleanup(move || {
        for listener in [focus, keys, hide] {
            listener.remove();
        }
        let (heartbeat, send) = goodbye.take();
        drop(heartbeat);
        send(true);
    });
}

/// Who else has the case on screen, read once per presence change for the whole screen (every
/// field shows who is in it, so they share this rather than each asking the repo).
#[derive(Clone, Copy)]
pub struct PeopleHere(Memo<Vec<Presence>>);

/// Provides [`PeopleHere`] for a case screen.
pub fn provide_people_here(id: DocumentId) {
    let repo = use_repo();
    provide_context(PeopleHere(Memo::new(move |_| repo.people_here(&id))));
}

pub(super) fn people_here(id: DocumentId) -> Memo<Vec<Presence>> {
    match use_context::<PeopleHere>() {
        Some(PeopleHere(people)) => people,
        None => {
            let repo = use_repo();
            Memo::new(move |_| repo.people_here(&id))
        }
    }
}

/// "Also here": the others with this case open, where they are and who is typing.
#[component]
pub fn PresenceList(id: DocumentId) -> impl IntoView {
    let people = people_here(id);
    view! {
        <div class="app-presence app-no-print" data-testid="presence" aria-live="polite">
            {move || {
                let people = people.get();
                (!people.is_empty()).then(|| view! {
                    <span class="app-presence__label">"Also here: "</span>
                    <ul class="app-presence__list">
                        {people.into_iter().map(|p| {
                            let doing = if p.typing { ", typing" } else { "" };
                            view! {
                                <li class="app-presence__person">
                                    <strong>{p.name.clone()}</strong>
                                    {format!(" ({}), in {}{doing}", p.agency, section_name(&p.section))}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
        </div>
    }
}

/// The people in the field with this element id, as a short note for its label.
pub fn in_field(
    id: DocumentId,
    dom_id: String,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    let people = people_here(id);
    move || {
        let notes: Vec<String> = people.with(|people| {
            people
                .iter()
                .filter(|p| p.field.as_deref() == Some(dom_id.as_str()))
                .map(|p| {
                    if p.typing {
                        format!("{} is typing here", p.name)
                    } else {
                        format!("{} is here", p.name)
                    }
                })
                .collect()
        });
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

fn section_name(slug: &str) -> String {
    super::sections::SECTIONS
        .iter()
        .find(|(_, s, _)| *s == slug)
        .map(|(_, _, title)| title.to_string())
        .unwrap_or_else(|| match slug {
            "team" => "Team".into(),
            "meeting" => "the meeting".into(),
            other => other.to_string(),
        })
}
