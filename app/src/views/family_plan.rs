//! The family's plan: their copy of the plan in plain words (`shared::documents::family_plan`),
//! to print or download as a PDF (see [`super::document`]).

use super::document::DocumentPage;
use super::owner::Team;
use super::uk_today;
use leptos::prelude::*;
use shared::documents::family_plan;
use shared::record::CaseRecord;
use shared::DocumentId;

#[component]
pub fn FamilyPlan(id: DocumentId) -> impl IntoView {
    let record = expect_context::<Memo<Option<CaseRecord>>>();
    let team = use_context::<Team>();
    let doc = Memo::new(move |_| {
        let members = team.map(|t| t.0.get()).unwrap_or_default();
        record.with(|r| {
            r.as_ref()
                .map(|r| family_plan::build(r, &members, uk_today()))
        })
    });
    view! {
        <p class="govuk-body app-no-print">
            "This is the plan in plain words, for the family to keep. Check it with them, then print it or download it as a PDF. "
            "Each copy made is recorded."
        </p>
        <DocumentPage id=id kind="family-plan" doc=doc print_label="Print the family's plan"/>
    }
}
