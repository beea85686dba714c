//! Who an action is for: chosen from the team around the child (by professional id) or the
//! family (by person id), or a name typed in for someone outside both. The team comes from
//! the relay and is kept on the device, so the choice works offline too.

use super::use_repo;
use crate::api;
use crate::sync::Repo;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::api::Member;
use shared::caseload::Owner;
use shared::record::edit::{self, Path};
use shared::record::CaseRecord;
use shared::DocumentId;

/// Everyone an action can be for in this case: (what the owner field stores, how it reads).
#[derive(Clone, Copy)]
pub struct Owners(pub Memo<Vec<(String, String)>>);

impl Owners {
    /// How a stored owner reads: the person's name, or the name typed in.
    pub fn label(&self, raw: &str) -> String {
        let owner = Owner::parse(raw);
        if let Owner::Named(name) = owner {
            return name;
        }
        self.0.with(|all| {
            if let Some((_, label)) = all.iter().find(|(stored, _)| *stored == owner.stored()) {
                return label.clone();
            }
            let team_known = all
                .iter()
                .any(|(stored, _)| matches!(Owner::parse(stored), Owner::Professional(_)));
            match owner {
                // The team is not on this device yet (never online here since).
                Owner::Professional(_) if !team_known => "A member of the team".into(),
                Owner::Professional(_) => "Someone no longer in the team".into(),
                _ => "Someone no longer recorded in the family".into(),
            }
        })
    }
}

fn team_key(id: &DocumentId) -> String {
    format!("team-{id}")
}

/// The case's team as the relay last said (kept on this device), then fresh when online.
fn use_team(repo: &Repo, id: DocumentId) -> ReadSignal<Vec<Member>> {
    let (team, set) = signal(Vec::<Member>::new());
    let repo = repo.clone();
    leptos::task::spawn_local(async move {
        if let Some(kept) = repo
            .meta(&team_key(&id))
            .await
            .and_then(|json| serde_json::from_str::<Vec<Member>>(&json).ok())
        {
            let _ = set.try_set(kept);
        }
        if let Ok(fresh) = api::members(&id).await {
            if let Ok(json) = serde_json::to_string(&fresh) {
                let _ = repo.put_meta(&team_key(&id), &json).await;
            }
            let _ = set.try_set(fresh);
        }
    });
    team
}

/// The case's team as the relay last listed it, for the case on screen.
#[derive(Clone, Copy)]
pub struct Team(pub ReadSignal<Vec<Member>>);

/// Provides [`Owners`] and [`Team`] for the case on screen.
pub fn provide_owners(id: DocumentId, record: Memo<Option<CaseRecord>>) {
    let team = use_team(&use_repo(), id);
    provide_context(Team(team));
    let owners = Memo::new(move |_| {
        let mut all: Vec<(String, String)> = team.with(|t| {
            t.iter()
                .map(|m| {
                    (
                        Owner::Professional(m.professional_id).stored(),
                        format!("{} ({})", m.name, m.agency_name),
                    )
                })
                .collect()
        });
        record.with(|r| {
            if let Some(r) = r {
                all.extend(r.family.people.iter().map(|p| {
                    (
                        Owner::Person(p.id.clone()).stored(),
                        format!("{} ({})", p.display_name(), p.role.label().to_lowercase()),
                    )
                }));
            }
        });
        all
    });
    provide_context(Owners(owners));
}

/// The owner field of an action: a choice of the team and the family, or a name typed in.
#[component]
pub fn OwnerField(id: DocumentId, path: Path) -> impl IntoView {
    let repo = use_repo();
    let owners = expect_context::<Owners>();
    let dom = super::fields::dom_id(&path);
    let path = SendWrapper::new(path);
    let current = {
        let (repo, path) = (repo.clone(), path.clone());
        move || {
            repo.track_changes();
            repo.with_doc(&id, |doc| edit::get(doc, &path).ok())
                .flatten()
                .unwrap_or_default()
        }
    };
    // "Someone else" chosen, before a name is typed.
    let other = RwSignal::new(false);
    let write = {
        let (repo, path) = (repo.clone(), path.clone());
        move |value: &str| {
            if let Some(Err(e)) = repo.with_doc(&id, |doc| edit::set_text(doc, &path, value)) {
                web_sys::console::warn_1(&e.to_string().into());
            }
            repo.edited(id);
        }
    };
    let on_choose = {
        let write = write.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if value == "other" {
                other.set(true);
                write("");
            } else {
                other.set(false);
                write(&value);
            }
        }
    };
    let current_for_options = current.clone();
    let options = move || {
        let raw = current_for_options();
        let typed = matches!(Owner::parse(&raw), Owner::Named(ref n) if !n.is_empty());
        let mut list: Vec<(String, String, bool)> = vec![(
            String::new(),
            "Choose who will do it".into(),
            raw.is_empty() && !other.get(),
        )];
        list.extend(
            owners
                .0
                .get()
                .into_iter()
                .map(|(stored, label)| (stored.clone(), label, stored == raw)),
        );
        if !raw.is_empty() && !typed && !list.iter().any(|(_, _, s)| *s) {
            list.push((raw.clone(), owners.label(&raw), true));
        }
        list.push((
            "other".into(),
            "Someone else (type their name)".into(),
            typed || other.get(),
        ));
        list
    };
    // Whether the name box shows: a name typed in, or "Someone else" chosen. A memo, so the
    // box is not rebuilt (losing the caret) as the name is saved.
    let current_for_typed = current.clone();
    let typing = Memo::new(move |_| {
        other.get()
            || matches!(Owner::parse(&current_for_typed()), Owner::Named(n) if !n.is_empty())
    });
    let typed_now = current.clone();
    let text_id = format!("{dom}-name");
    view! {
        <div class="govuk-form-group">
            <label class="govuk-label govuk-label--s" for=dom.clone()>"Who will do it"</label>
            <div class="govuk-hint" id=format!("{dom}-hint")>"Someone in the team around the child or in the family, or type the name of someone else."</div>
            <select class="govuk-select" id=dom.clone() aria-describedby=format!("{dom}-hint") on:change=on_choose>
                {move || options().into_iter().map(|(value, label, selected)| view! {
                    <option value=value selected=selected>{label}</option>
                }).collect_view()}
            </select>
            {move || typing.get().then(|| {
                let write = write.clone();
                // Filled once as it appears; after that it holds what is typed.
                let name = match Owner::parse(&untrack(&typed_now)) {
                    Owner::Named(n) => n,
                    _ => String::new(),
                };
                view! {
                    <div class="govuk-form-group app-owner__other">
                        <label class="govuk-label" for=text_id.clone()>"Their name"</label>
                        <input class="govuk-input govuk-input--width-20" type="text" id=text_id.clone() value=name
                            on:input=move |ev| {
                                // Stays open while the name is cleared to be typed again.
                                other.set(true);
                                write(&event_target_value(&ev));
                            }/>
                    </div>
                }
            })}
        </div>
    }
}

/// A history row as people read it: owners chosen from the team or family by name.
pub fn sentence(row: &shared::record::history::Row, owners: Option<Owners>) -> String {
    use shared::record::history::RowKind;
    let Some(owners) = owners else {
        return row.sentence();
    };
    match &row.kind {
        RowKind::Changed { old, new } if row.item_kind.is_some() && is_owner_ref(old, new) => {
            let mut named = row.clone();
            let name = |raw: &str| {
                if raw.is_empty() {
                    String::new()
                } else {
                    owners.label(raw)
                }
            };
            named.kind = RowKind::Changed {
                old: name(old),
                new: name(new),
            };
            named.sentence()
        }
        _ => row.sentence(),
    }
}

/// Whether either value is an owner chosen from the team or the family.
fn is_owner_ref(old: &str, new: &str) -> bool {
    [old, new]
        .iter()
        .any(|v| !matches!(Owner::parse(v), Owner::Named(_)))
}

/// A past field's value as people read it (an owner by name).
pub fn value(entry: &shared::record::history::Entry, owners: Option<Owners>) -> String {
    let raw = entry.value.clone().unwrap_or_default();
    match owners {
        Some(owners) if entry.key == "owner" && !matches!(Owner::parse(&raw), Owner::Named(_)) => {
            owners.label(&raw)
        }
        _ => raw,
    }
}
