//! Form fields bound to one field of a case document. They write each change straight into the
//! document and take other people's changes in place, without moving the caret of whoever is
//! typing. [`RecordField`] picks the control from the field's kind.

use super::use_repo;
use leptos::html;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::record::edit::{self, Kind, Path};
use shared::record::labels::describe;
use shared::text::{splice, Caret};
use shared::DocumentId;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// A form control with a value (and, for text, a selection).
enum Control {
    Input(web_sys::HtmlInputElement),
    Area(web_sys::HtmlTextAreaElement),
    Select(web_sys::HtmlSelectElement),
}

impl Control {
    fn of(el: &HtmlElement) -> Option<Control> {
        if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
            return Some(Control::Input(i.clone()));
        }
        if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
            return Some(Control::Select(s.clone()));
        }
        el.dyn_ref::<web_sys::HtmlTextAreaElement>()
            .map(|t| Control::Area(t.clone()))
    }

    fn value(&self) -> String {
        match self {
            Control::Input(e) => e.value(),
            Control::Area(e) => e.value(),
            Control::Select(e) => e.value(),
        }
    }

    fn selection(&self) -> (usize, usize) {
        let (s, e) = match self {
            Control::Input(el) => (el.selection_start(), el.selection_end()),
            Control::Area(el) => (el.selection_start(), el.selection_end()),
            Control::Select(_) => (Ok(None), Ok(None)),
        };
        let s = s.ok().flatten().unwrap_or(0) as usize;
        (s, e.ok().flatten().map_or(s, |e| e as usize))
    }

    fn set_selection(&self, start: usize, end: usize) {
        let _ = match self {
            Control::Input(el) => el.set_selection_range(start as u32, end as u32),
            Control::Area(el) => el.set_selection_range(start as u32, end as u32),
            Control::Select(_) => Ok(()),
        };
    }

    /// Shows a new value. Text is replaced in place (the rest of the field, and undo, stay).
    fn show(&self, old: &str, new: &str) {
        let (start, end, text) = splice(old, new);
        let (s, e) = (start as u32, end as u32);
        let _ = match self {
            Control::Input(el) if el.type_() == "text" => {
                el.set_range_text_with_start_and_end(&text, s, e)
            }
            Control::Input(el) => {
                el.set_value(new);
                Ok(())
            }
            Control::Area(el) => el.set_range_text_with_start_and_end(&text, s, e),
            Control::Select(el) => {
                el.set_value(new);
                Ok(())
            }
        };
    }

    fn is_focused(&self) -> bool {
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let me: &web_sys::Element = match self {
            Control::Input(e) => e.as_ref(),
            Control::Area(e) => e.as_ref(),
            Control::Select(e) => e.as_ref(),
        };
        active.as_ref() == Some(me)
    }
}

/// The element id for a field: stable, unique on the page, and readable in tests.
pub fn dom_id(path: &Path) -> String {
    let raw = format!("{path:?}").to_lowercase();
    let mut id = String::from("field");
    for part in raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        id.push('-');
        id.push_str(part);
    }
    id
}

/// Date fields get the browser's date picker; the document stores `YYYY-MM-DD`.
pub(super) fn is_date(key: &str) -> bool {
    key.ends_with("date")
        || matches!(
            key,
            "due" | "started" | "completed" | "date_of_birth" | "from" | "to"
        )
}

/// Writes what the person entered, the right way for the field's kind.
fn write(
    doc: &mut automerge::AutoCommit,
    path: &Path,
    value: &str,
) -> Result<(), shared::record::RecordError> {
    match path.kind() {
        Kind::Int => edit::set_int(doc, path, value.trim().parse().ok()),
        Kind::Bool => edit::set_bool(
            doc,
            path,
            match value {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        ),
        _ => edit::set_text(doc, path, value),
    }
}

/// One labelled field of a case, written as the person types.
#[component]
pub fn RecordField(id: DocumentId, path: Path) -> impl IntoView {
    let repo = use_repo();
    let (label, hint) = describe(&path);
    let dom = dom_id(&path);
    let hint_id = format!("{dom}-hint");
    let kind = path.kind();
    let path = SendWrapper::new(path);
    let node = NodeRef::<html::Div>::new();
    let caret: SendWrapper<Rc<RefCell<Option<Caret>>>> = SendWrapper::new(Rc::default());
    // The field's object, found once: searching lists for every read is slow in a big case.
    let object: SendWrapper<Rc<RefCell<Option<automerge::ObjId>>>> =
        SendWrapper::new(Rc::default());
    let index = use_context::<super::case_view::ItemIndex>();
    let read = {
        let (repo, path, object) = (repo.clone(), path.clone(), object.clone());
        move || -> String {
            repo.with_doc(&id, |doc| {
                let mut cached = object.borrow_mut();
                if cached.is_none() {
                    let indexed = path.item_id().and_then(|item| {
                        index.and_then(|i| i.0.with_value(|m| m.get(item).cloned()))
                    });
                    *cached = indexed.or_else(|| path.find_obj(doc).ok().flatten());
                }
                match cached.as_ref() {
                    Some(obj) => edit::get_in(doc, obj, &path).unwrap_or_default(),
                    None => String::new(),
                }
            })
            .unwrap_or_default()
        }
    };
    // Free text is printed from a plain copy (textareas do not grow on paper in every browser).
    let printed = RwSignal::new(String::new());

    let control = {
        let dom = dom.clone();
        move || -> Option<Control> {
            let wrapper: HtmlElement = node.get_untracked()?.into();
            let el = wrapper.query_selector(&format!("#{dom}")).ok()??;
            Control::of(el.dyn_ref::<HtmlElement>()?)
        }
    };

    // Just before others' changes are applied, remember the caret as Automerge cursors.
    if kind == Kind::Text {
        let (repo2, caret, control, path) =
            (repo.clone(), caret.clone(), control.clone(), path.clone());
        let hook = repo.before_remote_change(move || {
            let taken = control().filter(|c| c.is_focused()).and_then(|c| {
                let (s, e) = c.selection();
                repo2
                    .with_doc(&id, |doc| {
                        let obj = edit::text_object(doc, &path).ok()??;
                        Caret::in_text(doc, &obj, s, e)
                    })
                    .flatten()
            });
            *caret.borrow_mut() = taken;
        });
        let repo = SendWrapper::new(repo.clone());
        on_cleanup(move || repo.remove_hook(hook));
    }

    let on_change = {
        let (repo, path, control) = (repo.clone(), path.clone(), control.clone());
        move |_ev: leptos::ev::Event| {
            let Some(c) = control() else { return };
            let value = c.value();
            if let Some(Err(e)) = repo.with_doc(&id, |doc| write(doc, &path, &value)) {
                web_sys::console::warn_1(&e.to_string().into());
            }
            if kind == Kind::Text {
                printed.set(value);
            }
            repo.edited(id);
        }
    };

    // Take in changes from elsewhere: in place, caret kept.
    {
        let (repo, caret, path, control) =
            (repo.clone(), caret.clone(), path.clone(), control.clone());
        let remote = repo.remote_changes();
        Effect::new(move |_| {
            remote.track();
            let Some(c) = control() else { return };
            let Some(new) = repo.with_doc(&id, |doc| edit::get(doc, &path).unwrap_or_default())
            else {
                return;
            };
            let old = c.value();
            if new == old {
                return;
            }
            c.show(&old, &new);
            if kind == Kind::Text {
                printed.set(new.clone());
            }
            let taken = caret.borrow_mut().take();
            if c.is_focused() {
                let resolved = taken.and_then(|k| {
                    repo.with_doc(&id, |doc| {
                        let obj = edit::text_object(doc, &path).ok()??;
                        k.resolve_in(doc, &obj)
                    })
                    .flatten()
                });
                if let Some((s, e)) = resolved {
                    c.set_selection(s, e);
                }
            }
        });
    }

    let here = super::presence::in_field(id, dom.clone());
    let initial = read();
    printed.set(initial.clone());
    let described_by = hint.map(|_| hint_id.clone());
    let choices = path.choices();
    let input = match kind {
        Kind::Text => view! {
            <textarea class="govuk-textarea" id=dom.clone() rows="4" aria-describedby=described_by.clone()
                on:input=on_change prop:value=initial.clone()></textarea>
            <div class="app-print-only app-print-text">{move || printed.get()}</div>
        }
        .into_any(),
        Kind::Choice | Kind::Bool => {
            let options: Vec<(String, String)> = if kind == Kind::Bool {
                vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())]
            } else {
                choices
            };
            let current = initial.clone();
            view! {
                <select class="govuk-select" id=dom.clone() aria-describedby=described_by.clone() on:change=on_change>
                    <option value="" selected=current.is_empty()>"Not recorded"</option>
                    {options.into_iter().map(|(v, l)| {
                        let selected = v == current;
                        view! { <option value=v selected=selected>{l}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        Kind::Int => view! {
            <input class="govuk-input govuk-input--width-4" id=dom.clone() type="text" inputmode="numeric"
                autocomplete="off" aria-describedby=described_by.clone() on:input=on_change prop:value=initial.clone()/>
        }
        .into_any(),
        Kind::Str => {
            let input_type = if is_date(path.key()) { "date" } else { "text" };
            let width = if input_type == "date" { "govuk-input--width-10" } else { "govuk-input--width-20" };
            view! {
                <input class=format!("govuk-input {width}") id=dom.clone() type=input_type autocomplete="off"
                    aria-describedby=described_by.clone() on:input=on_change prop:value=initial.clone()/>
            }
            .into_any()
        }
    };
    view! {
        <div class="govuk-form-group" node_ref=node>
            <label class="govuk-label govuk-label--s" for=dom.clone()>{label}</label>
            {move || here().map(|note| view! { <span class="app-presence-tag app-no-print">{note}</span> })}
            {hint.map(|h| view! { <div class="govuk-hint" id=hint_id.clone()>{h}</div> })}
            {input}
        </div>
    }
}
