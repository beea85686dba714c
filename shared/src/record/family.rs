//! The family: where they live, who is in the household, and each person's role.
//!
//! Audits found fathers not identified or engaged and unborn babies missed, so a father is a
//! parent or carer whose relationship is recorded as father, with his involvement asked about,
//! and a case with no father recorded carries a reason.

use super::new_id;
use autosurgeon::Text;

string_enum! {
    /// What a person is to the case, so the app can tell the child from the adults around them.
    pub enum Role {
        /// The child (or one of the children) the early help is for.
        #[default]
        Child = ("child", "Child"),
        /// A baby not yet born; recorded with an expected date of delivery.
        UnbornBaby = ("unborn_baby", "Unborn baby"),
        /// A parent or carer, including fathers who do not live with the child.
        ParentCarer = ("parent_carer", "Parent or carer"),
        /// A brother or sister (including half and step siblings).
        Sibling = ("sibling", "Sibling"),
        /// Another adult who matters in the child's life (grandparent, partner, family friend).
        SignificantAdult = ("significant_adult", "Significant adult"),
    }
}

string_enum! {
    /// How a person is related to the child, so fathers (and who holds parental
    /// responsibility) are visible rather than hidden behind "parent or carer".
    pub enum Relationship {
        #[default]
        Mother = ("mother", "Mother"),
        Father = ("father", "Father"),
        StepParent = ("step_parent", "Step-parent"),
        ParentsPartner = ("parents_partner", "Parent's partner"),
        Grandparent = ("grandparent", "Grandparent"),
        KinshipCarer = ("kinship_carer", "Kinship or family carer"),
        FosterCarer = ("foster_carer", "Foster carer"),
        Sibling = ("sibling", "Brother or sister"),
    }
}

record_struct! {
    /// The family and household the case is about.
    pub struct Family {
        /// The household's address, as one line or several.
        pub address: String,
        /// Who lives where and how the household works, in the worker's words.
        pub household: Text,
        /// Everyone recorded: children, unborn babies, parents and carers, siblings, others.
        pub people: Vec<Person>,
        /// Why no father is recorded (unknown, deceased, not safe to contact…), so his absence
        /// is a decision someone made rather than a gap.
        pub no_father_reason: Text,
    }
}

record_struct! {
    /// One person in the family.
    pub struct Person {
        /// Stable id, so concurrent edits land on the right person.
        #[key]
        pub id: String,
        pub role: Role,
        /// How they are related to the child; `None` until asked.
        pub relationship: Option<Relationship>,
        /// Full name as they want it written.
        pub name: String,
        /// Other names and previous names (aliases help agencies match records).
        pub other_names: String,
        /// `YYYY-MM-DD`, or empty.
        pub date_of_birth: String,
        /// Expected date of delivery for an unborn baby, `YYYY-MM-DD`.
        pub expected_date: String,
        pub gender: String,
        pub ethnicity: String,
        pub religion: String,
        pub first_language: String,
        /// `None` until asked.
        pub interpreter_needed: Option<bool>,
        /// Any disability or special educational needs, described.
        pub disability_sen: Text,
        /// Whether they hold parental responsibility; `None` until asked.
        pub parental_responsibility: Option<bool>,
        /// Whether they live in the household; `None` until asked.
        pub lives_in_household: Option<bool>,
        /// School, nursery or other setting (children), or workplace if relevant.
        pub setting: String,
        /// Phone, email or how best to reach them.
        pub contact: String,
        /// How they are involved in the child's life and in the early help (asked explicitly
        /// for fathers).
        pub involvement: Text,
    }
}

impl Person {
    /// A new person with a fresh id.
    pub fn new(role: Role, name: &str) -> Self {
        Self {
            id: new_id(),
            role,
            name: name.trim().to_string(),
            ..Self::default()
        }
    }

    /// The person is the baby expected, or a child the case is about.
    pub fn is_child_of_case(&self) -> bool {
        matches!(self.role, Role::Child | Role::UnbornBaby)
    }

    /// The person is recorded as the child's father.
    pub fn is_father(&self) -> bool {
        self.relationship == Some(Relationship::Father)
    }

    /// How to name the person in a message: their name, or their role if unnamed.
    pub fn display_name(&self) -> String {
        if !self.name.trim().is_empty() {
            self.name.trim().to_string()
        } else if self.role == Role::UnbornBaby {
            "The unborn baby".to_string()
        } else {
            format!("A {}", self.role.label().to_lowercase())
        }
    }
}

fields! {
    /// The family's own fields.
    pub enum FamilyField {
        Address = ("address", Str),
        Household = ("household", Text),
        NoFatherReason = ("no_father_reason", Text),
    }
}

fields! {
    /// The fields of a [`Person`].
    pub enum PersonField {
        Role = ("role", Choice),
        Relationship = ("relationship", Choice),
        Name = ("name", Str),
        OtherNames = ("other_names", Str),
        DateOfBirth = ("date_of_birth", Str),
        ExpectedDate = ("expected_date", Str),
        Gender = ("gender", Str),
        Ethnicity = ("ethnicity", Str),
        Religion = ("religion", Str),
        FirstLanguage = ("first_language", Str),
        InterpreterNeeded = ("interpreter_needed", Bool),
        DisabilitySen = ("disability_sen", Text),
        ParentalResponsibility = ("parental_responsibility", Bool),
        LivesInHousehold = ("lives_in_household", Bool),
        Setting = ("setting", Str),
        Contact = ("contact", Str),
        Involvement = ("involvement", Text),
    }
}
