//! A document made from the case (`shared::documents`) shown as a page that prints on its
//! own, with buttons to print it and to download it as a PDF the relay draws from the same
//! words. The page works offline; the PDF needs the relay, and without it the page says to
//! print instead (the print window can also save a PDF).

use crate::api;
use leptos::prelude::*;
use shared::documents::{Block, Document};
use shared::DocumentId;
use wasm_bindgen::JsCast;

/// `kind` names the document to the relay (`family-plan`, `referral`) and in the audit.
#[component]
pub fn DocumentPage(
    id: DocumentId,
    kind: &'static str,
    doc: Memo<Option<Document>>,
    /// What the print button says.
    print_label: &'static str,
) -> impl IntoView {
    let (message, set_message) = signal(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let print = move |_| {
        // A printed copy leaves the system: recorded (ids only) when online.
        leptos::task::spawn_local(async move {
            let _ = api::record_export(&id, &format!("{}_print", kind.replace('-', "_"))).await;
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
            let outcome = match api::document_pdf(&id, kind, &document).await {
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
        <div class="govuk-button-group app-no-print">
            <button type="button" class="govuk-button" data-testid=format!("print-{kind}") on:click=print>{print_label}</button>
            <button type="button" class="govuk-button govuk-button--secondary" data-testid=format!("download-{kind}")
                on:click=download disabled=move || busy.get() || doc.with(Option::is_none)>
                {move || if busy.get() { "Making the PDF…" } else { "Download as PDF" }}
            </button>
        </div>
        {move || message.get().map(|m| super::outcome(m, "document-outcome"))}
        <article class="app-document" data-testid=kind lang="en-GB">
            {move || match doc.get() {
                None => view! { <p class="govuk-body">"Reading the case…"</p> }.into_any(),
                Some(d) => page(d).into_any(),
            }}
        </article>
    }
}

fn page(doc: Document) -> impl IntoView {
    view! {
        <h2 class="govuk-heading-xl app-document__title">{doc.title}</h2>
        <p class="govuk-body-l">{doc.subtitle}</p>
        {doc.sections.into_iter().map(|s| view! {
            <section class="app-document__section">
                <h3 class="govuk-heading-l">{s.heading}</h3>
                {s.blocks.into_iter().map(block).collect_view()}
            </section>
        }).collect_view()}
    }
}

fn block(b: Block) -> AnyView {
    match b {
        Block::Paragraph { text } => {
            view! { <p class="govuk-body app-document__text">{text}</p> }.into_any()
        }
        Block::Subheading { text } => view! { <h4 class="govuk-heading-m">{text}</h4> }.into_any(),
        Block::Bullets { items } => view! {
            <ul class="govuk-list govuk-list--bullet">
                {items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}
            </ul>
        }
        .into_any(),
        Block::Item { heading, facts } => view! {
            <div class="app-document__item">
                {(!heading.is_empty()).then(|| view! { <h5 class="govuk-heading-s">{heading}</h5> })}
                <dl class="govuk-summary-list govuk-summary-list--no-border">
                    {facts.into_iter().map(|f| view! {
                        <div class="govuk-summary-list__row">
                            <dt class="govuk-summary-list__key">{f.label}</dt>
                            <dd class="govuk-summary-list__value app-document__text">{f.value}</dd>
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
pub(super) fn save(blob: &web_sys::Blob, name: &str) -> Result<(), ()> {
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
