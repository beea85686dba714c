//! The family's plan: their copy of the plan in plain words (`shared::documents::family_plan`),
//! as a page that prints on its own, and as a PDF file the relay draws from the same words.
//!
//! The page works offline (it is made from the case on this device); the PDF needs the relay,
//! and when it cannot be reached the page says so and offers printing, where the browser's
//! print window can also save a PDF.

use super::owner::Team;
use crate::api;
use leptos::prelude::*;
use shared::documents::{family_plan, Block, Document};
use shared::record::dates::Day;
use shared::record::CaseRecord;
use shared::DocumentId;
use wasm_bindgen::JsCast;

fn today() -> Day {
    shared::record::dates::uk_day(js_sys::Date::now() as i64)
}

#[component]
pub fn FamilyPlan(id: DocumentId) -> impl IntoView {
    let record = expect_context::<Memo<Option<CaseRecord>>>();
    let team = use_context::<Team>();
    let doc = Memo::new(move |_| {
        let members = team.map(|t| t.0.get()).unwrap_or_default();
        record.with(|r| r.as_ref().map(|r| family_plan::build(r, &members, today())))
    });
    let (message, set_message) = signal(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let print = move |_| {
        // Printing hands the case to the family: recorded (ids only) when online.
        leptos::task::spawn_local(async move {
            let _ = api::record_export(&id, "family_plan_print").await;
        });
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    let download = move |_| {
        let Some(document) = doc.get_untracked() else {
            return;
        };
        busy.set(true);
        set_message.set(None);
        leptos::task::spawn_local(async move {
            let outcome = match api::family_plan_pdf(&id, &document).await {
                Ok(blob) => save(&blob, &file_name(&document))
                    .map(|()| "The PDF has been downloaded.".to_string())
                    .map_err(|()| "The PDF could not be saved. Try again.".to_string()),
                Err(api::CallError::Offline) => Err(
                    "You need to be online to download the PDF. You can still print this page: \
                     the print window can also save it as a PDF."
                        .into(),
                ),
                Err(e) => Err(e.to_string()),
            };
            let _ = set_message.try_set(Some(outcome));
            let _ = busy.try_set(false);
        });
    };
    view! {
        <p class="govuk-body app-no-print">
            "This is the plan in plain words, for the family to keep. Check it with them, then print it or download it as a PDF. "
            "Each copy made is recorded."
        </p>
        <div class="govuk-button-group app-no-print">
            <button type="button" class="govuk-button" data-testid="print-family-plan" on:click=print>"Print the family's plan"</button>
            <button type="button" class="govuk-button govuk-button--secondary" data-testid="download-family-plan"
                on:click=download disabled=move || busy.get() || doc.with(Option::is_none)>
                {move || if busy.get() { "Making the PDF…" } else { "Download as PDF" }}
            </button>
        </div>
        {move || message.get().map(|m| super::outcome(m, "family-plan-outcome"))}
        <article class="app-family-plan" data-testid="family-plan" lang="en-GB">
            {move || match doc.get() {
                None => view! { <p class="govuk-body">"Reading the case…"</p> }.into_any(),
                Some(d) => page(d).into_any(),
            }}
        </article>
    }
}

fn page(doc: Document) -> impl IntoView {
    view! {
        <h2 class="govuk-heading-xl app-family-plan__title">{doc.title}</h2>
        <p class="govuk-body-l">{doc.subtitle}</p>
        {doc.sections.into_iter().map(|s| view! {
            <section class="app-family-plan__section">
                <h3 class="govuk-heading-l">{s.heading}</h3>
                {s.blocks.into_iter().map(block).collect_view()}
            </section>
        }).collect_view()}
    }
}

fn block(b: Block) -> AnyView {
    match b {
        Block::Paragraph { text } => {
            view! { <p class="govuk-body app-family-plan__text">{text}</p> }.into_any()
        }
        Block::Subheading { text } => view! { <h4 class="govuk-heading-m">{text}</h4> }.into_any(),
        Block::Bullets { items } => view! {
            <ul class="govuk-list govuk-list--bullet">
                {items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}
            </ul>
        }
        .into_any(),
        Block::Item { heading, facts } => view! {
            <div class="app-family-plan__item">
                {(!heading.is_empty()).then(|| view! { <h5 class="govuk-heading-s">{heading}</h5> })}
                <dl class="govuk-summary-list govuk-summary-list--no-border">
                    {facts.into_iter().map(|f| view! {
                        <div class="govuk-summary-list__row">
                            <dt class="govuk-summary-list__key">{f.label}</dt>
                            <dd class="govuk-summary-list__value app-family-plan__text">{f.value}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </div>
        }
        .into_any(),
    }
}

fn file_name(doc: &Document) -> String {
    let words: String = doc
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let words: Vec<&str> = words.split('-').filter(|w| !w.is_empty()).collect();
    format!("{}.pdf", words.join("-"))
}

/// Saves a file the way a download link does.
fn save(blob: &web_sys::Blob, name: &str) -> Result<(), ()> {
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| ())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or(())?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The browser has the file once the click is handled.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}
