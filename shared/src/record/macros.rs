//! The three shapes every part of the record is written in, so each module states only the
//! domain (which fields, which values) and the Automerge plumbing is written once.
//!
//! - [`record_struct!`]: a struct whose every field reads as its default when the document
//!   lacks it, so adding a field never makes an older case unreadable and a half-written item
//!   from another client does not break the whole case.
//! - [`string_enum!`]: a closed list of values stored as strings, with an `Other(String)` for
//!   values a newer version of the app wrote, so an older app still opens the case.
//! - [`fields!`]: the fields of one part of the record that the UI edits one at a time.

/// A record struct: `Debug, Clone, PartialEq, Default, Reconcile, Hydrate`, every field
/// defaulting when missing from the document.
macro_rules! record_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, autosurgeon::Reconcile, autosurgeon::Hydrate)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[autosurgeon(missing = "Default::default")]
                pub $field: $ty,
            )*
        }
    };
}

/// An enum stored as a string. Each variant is `Name = ("stored_value", "Label for people")`;
/// exactly one is marked `#[default]` (used when the document holds nothing). Adds
/// `Other(String)` for values this version does not know.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($value:literal, $label:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the app does not know (a newer app wrote it). It is kept
            /// exactly as written, so reading and saving the case never loses it.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in the order to offer them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as stored in the document.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Other(s) => s,
                }
            }

            /// How to show the value to people.
            pub fn label(&self) -> &str {
                match self {
                    $( $name::$variant => $label, )+
                    $name::Other(s) => s,
                }
            }

            /// Reads a stored value; one this version does not know becomes `Other`.
            pub fn parse(value: &str) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;

            fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str(self.as_str())
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(value: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self::parse(value))
            }

            fn hydrate_none() -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self::default())
            }
        }
    };
}

/// The editable fields of one part of the record: `Name = ("document_key", Kind)`.
macro_rules! fields {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($key:literal, $kind:ident), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every field, in form order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The key in the document.
            pub fn key(self) -> &'static str {
                match self {
                    $( $name::$variant => $key, )+
                }
            }

            /// Where the field comes in its form.
            pub fn rank(self) -> usize {
                self as usize
            }

            /// What kind of value the field holds, so it is written the right way.
            pub fn kind(self) -> $crate::record::edit::Kind {
                match self {
                    $( $name::$variant => $crate::record::edit::Kind::$kind, )+
                }
            }
        }
    };
}
