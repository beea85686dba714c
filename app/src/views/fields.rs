//! Form fields bound to a case document: they write each keystroke into the document and take
//! other people's changes in place, without moving the caret of whoever is typing.

use super::use_repo;
use leptos::html;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::case::Field;
use shared::text::{splice, Caret};
use shared::DocumentId;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// An `<input>` or a `<textarea>`: both have a value and a selection.
enum Editable {
    Input(web_sys::HtmlInputElement),
    Area(web_sys::HtmlTextAreaElement),
}

impl Editable {
    fn of(el: &HtmlElement) -> Option<Editable> {
        if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
            return Some(Editable::Input(i.clone()));
        }
        el.dyn_ref::<web_sys::HtmlTextAreaElement>()
            .map(|t| Editable::Area(t.clone()))
    }

    fn value(&self) -> String {
        match self {
            Editable::Input(e) => e.value(),
            Editable::Area(e) => e.value(),
        }
    }

    fn selection(&self) -> (usize, usize) {
        let (s, e) = match self {
            Editable::Input(el) => (el.selection_start(), el.selection_end()),
            Editable::Area(el) => (el.selection_start(), el.selection_end()),
        };
        let s = s.ok().flatten().unwrap_or(0) as usize;
        (s, e.ok().flatten().map_or(s, |e| e as usize))
    }

    fn set_selection(&self, start: usize, end: usize) {
        let _ = match self {
            Editable::Input(el) => el.set_selection_range(start as u32, end as u32),
            Editable::Area(el) => el.set_selection_range(start as u32, end as u32),
        };
    }

    /// Replaces part of the value in place (the rest of the text, and undo, stay as they are).
    fn replace(&self, start: usize, end: usize, text: &str) {
        let _ = match self {
            Editable::Input(el) => {
                el.set_range_text_with_start_and_end(text, start as u32, end as u32)
            }
            Editable::Area(el) => {
                el.set_range_text_with_start_and_end(text, start as u32, end as u32)
            }
        };
    }

    fn is_focused(&self) -> bool {
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let me: &web_sys::Element = match self {
            Editable::Input(e) => e.as_ref(),
            Editable::Area(e) => e.as_ref(),
        };
        active.as_ref() == Some(me)
    }
}

/// One labelled field of a case.
#[component]
pub fn CaseField(
    id: DocumentId,
    field: Field,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] width_class: &'static str,
) -> impl IntoView {
    let repo = use_repo();
    let dom_id = format!("field-{}", field.key().replace('_', "-"));
    let hint_id = format!("{dom_id}-hint");
    let input_ref = NodeRef::<html::Input>::new();
    let area_ref = NodeRef::<html::Textarea>::new();
    // Where this person's caret is, in terms that survive others' edits (text fields only).
    let caret: SendWrapper<Rc<RefCell<Option<Caret>>>> = SendWrapper::new(Rc::default());

    let element = move || -> Option<Editable> {
        let el: HtmlElement = if multiline {
            area_ref.get_untracked()?.into()
        } else {
            input_ref.get_untracked()?.into()
        };
        Editable::of(&el)
    };

    // Just before others' changes are applied, remember the caret as Automerge cursors.
    let hook = {
        let (repo, caret) = (repo.clone(), caret.clone());
        repo.clone().before_remote_change(move || {
            let taken = element()
                .filter(|el| field.is_text() && el.is_focused())
                .and_then(|el| {
                    let (s, e) = el.selection();
                    repo.with_doc(&id, |doc| Caret::at(doc, field, s, e))
                        .flatten()
                });
            *caret.borrow_mut() = taken;
        })
    };
    {
        let repo = SendWrapper::new(repo.clone());
        on_cleanup(move || repo.remove_hook(hook));
    }

    let on_input = {
        let repo = repo.clone();
        move |_ev: leptos::ev::Event| {
            let Some(el) = element() else { return };
            let value = el.value();
            if let Some(Err(e)) = repo.with_doc(&id, |doc| field.write(doc, &value)) {
                web_sys::console::warn_1(&e.to_string().into());
            }
            repo.edited(id);
        }
    };

    // Take in changes from elsewhere: in place, caret kept.
    let remote = repo.remote_changes();
    {
        let (repo, caret) = (repo.clone(), caret.clone());
        Effect::new(move |_| {
            remote.track();
            let Some(el) = element() else { return };
            let Some(case) = repo.read(&id) else { return };
            let new = field.read(&case);
            let old = el.value();
            if new == old {
                return;
            }
            // In place, so the browser keeps the rest of the field (and shifts the selection).
            let (start, end, text) = splice(&old, &new);
            el.replace(start, end, &text);
            // Where the cursors say the caret belongs is exact even when the edit was at it.
            let taken = caret.borrow_mut().take();
            if el.is_focused() {
                if let Some((s, e)) =
                    taken.and_then(|c| repo.with_doc(&id, |doc| c.resolve(doc, field)).flatten())
                {
                    el.set_selection(s, e);
                }
            }
        });
    }

    let initial = repo.read(&id).map(|c| field.read(&c)).unwrap_or_default();
    let described_by = hint.map(|_| hint_id.clone());
    let control = if multiline {
        view! {
            <textarea class="govuk-textarea" id=dom_id.clone() name=field.key() rows="8"
                aria-describedby=described_by.clone() node_ref=area_ref
                on:input=on_input
                prop:value=initial.clone()></textarea>
        }
        .into_any()
    } else {
        view! {
            <input class=format!("govuk-input {width_class}") id=dom_id.clone() name=field.key() type="text"
                autocomplete="off" aria-describedby=described_by.clone() node_ref=input_ref
                on:input=on_input prop:value=initial.clone()/>
        }
        .into_any()
    };
    view! {
        <div class="govuk-form-group">
            <label class="govuk-label govuk-label--s" for=dom_id.clone()>{label}</label>
            {hint.map(|h| view! { <div class="govuk-hint" id=hint_id.clone()>{h}</div> })}
            {control}
            {multiline.then(|| view! { <div class="app-print-only app-print-text">{initial.clone()}</div> })}
        </div>
    }
}
