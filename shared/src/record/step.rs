//! Step-up to children's social care (through the MASH) and step-down from it to early help.
//!
//! A step has a direction, a reason, a consent check, and a status that moves
//! in progress → accepted or rejected → done, or is withdrawn. Audits found referrals into the
//! MASH of poor quality, so the referral summary sent is kept with the step.

use super::new_id;
use autosurgeon::Text;

string_enum! {
    /// Up to social care, or down to early help.
    pub enum Direction {
        #[default]
        Up = ("up", "Step-up"),
        Down = ("down", "Step-down"),
    }
}

string_enum! {
    /// What happened about consent before the step.
    pub enum ConsentCheck {
        /// The family (or competent child) agreed.
        #[default]
        Given = ("given", "Consent given"),
        /// The family did not agree.
        Refused = ("refused", "Consent refused"),
        /// Going ahead without consent to protect the child (record the override in consent).
        Override = ("override", "Safeguarding override"),
    }
}

string_enum! {
    /// Why a request for support goes to the MASH without the family's consent: the
    /// recognised reasons, so the answer is never blank.
    pub enum NoConsentReason {
        #[default]
        ChildAtRisk = ("child_at_risk", "It would place the child at increased risk of significant harm"),
        SomeoneAtRisk = ("someone_at_risk", "It would place someone at risk of injury"),
        PoliceInvestigation = ("police_investigation", "It would prejudice a police investigation"),
        UndueDelay = ("undue_delay", "It would cause undue delay"),
    }
}

string_enum! {
    /// Where the step has got to.
    pub enum StepStatus {
        #[default]
        InProgress = ("in_progress", "In progress"),
        Accepted = ("accepted", "Accepted"),
        Rejected = ("rejected", "Rejected"),
        Done = ("done", "Done"),
        Withdrawn = ("withdrawn", "Withdrawn"),
    }
}

impl StepStatus {
    /// The statuses a step can move to from this one: in progress → accepted, rejected or
    /// withdrawn; accepted → done or withdrawn. Rejected, done and withdrawn are final (a new
    /// attempt is a new step). A status this version does not know may move anywhere.
    pub fn next(&self) -> &'static [StepStatus] {
        match self {
            StepStatus::InProgress => &[
                StepStatus::Accepted,
                StepStatus::Rejected,
                StepStatus::Withdrawn,
            ],
            StepStatus::Accepted => &[StepStatus::Done, StepStatus::Withdrawn],
            StepStatus::Rejected | StepStatus::Done | StepStatus::Withdrawn => &[],
            StepStatus::Other(_) => StepStatus::ALL,
        }
    }

    /// Whether a step with this status may be given `next` (staying the same is allowed).
    pub fn can_become(&self, next: &StepStatus) -> bool {
        self == next || self.next().contains(next)
    }

    /// The step is over one way or another.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            StepStatus::Rejected | StepStatus::Done | StepStatus::Withdrawn
        )
    }
}

record_struct! {
    /// One step-up or step-down.
    pub struct Step {
        #[key]
        pub id: String,
        pub direction: Direction,
        /// `YYYY-MM-DD` the step was started.
        pub date: String,
        /// Why the step is needed.
        pub reason: Text,
        /// `None` until consent has been checked.
        pub consent: Option<ConsentCheck>,
        /// What the family said, or why the override was necessary.
        pub consent_notes: Text,
        pub status: StepStatus,
        /// `YYYY-MM-DD` of the latest status change.
        pub status_date: String,
        /// The team taking the case, e.g. "Assessment team (North)".
        pub receiving_team: String,
        /// The new lead professional (or social worker): name and agency.
        pub new_lead: String,
        /// The handover meeting (a [`super::meetings::Meeting`] id), once booked.
        pub handover_meeting_id: String,
        /// The referral summary sent to the MASH (step-up) or to early help (step-down).
        pub referral_summary: Text,
        /// What was decided and why (e.g. the MASH's reasons for not accepting).
        pub decision_notes: Text,
        /// Request for support (step-up): whether the parents or carers have been told.
        pub parents_told: Option<bool>,
        /// Who gave consent, when it was given.
        pub consent_given_by: String,
        /// Why there is no consent, when there is none.
        pub no_consent_reason: Option<NoConsentReason>,
        /// The safeguarding lead the referrer talked to (name and role).
        pub safeguarding_lead: String,
        /// What must stay confidential from the family (never in the family's copies).
        pub confidential: Text,
        /// Whether whoever raised the concern asked not to be named to the family.
        pub anonymous_source: Option<bool>,
        /// `YYYY-MM-DD` the request was marked sent; empty until then.
        pub sent_date: String,
        /// `YYYY-MM-DD` by when to chase an answer if none has come.
        pub follow_up_date: String,
    }
}

impl Step {
    /// A new step with a fresh id.
    pub fn new(direction: Direction, date: &str) -> Self {
        Self {
            id: new_id(),
            direction,
            date: date.trim().to_string(),
            ..Self::default()
        }
    }

    /// "step-up" or "step-down", for messages.
    pub fn noun(&self) -> String {
        self.direction.label().to_lowercase()
    }
}

fields! {
    /// The fields of a [`Step`].
    pub enum StepField {
        Direction = ("direction", Choice),
        Date = ("date", Str),
        Reason = ("reason", Text),
        Consent = ("consent", Choice),
        ConsentNotes = ("consent_notes", Text),
        Status = ("status", Choice),
        StatusDate = ("status_date", Str),
        ReceivingTeam = ("receiving_team", Str),
        NewLead = ("new_lead", Str),
        HandoverMeetingId = ("handover_meeting_id", Str),
        ReferralSummary = ("referral_summary", Text),
        DecisionNotes = ("decision_notes", Text),
        ParentsTold = ("parents_told", Bool),
        ConsentGivenBy = ("consent_given_by", Str),
        NoConsentReason = ("no_consent_reason", Choice),
        SafeguardingLead = ("safeguarding_lead", Str),
        Confidential = ("confidential", Text),
        AnonymousSource = ("anonymous_source", Bool),
        SentDate = ("sent_date", Str),
        FollowUpDate = ("follow_up_date", Str),
    }
}
