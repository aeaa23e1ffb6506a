//! Issue statuses, issue types and dependency types: the built-in values of beads, plus custom
//! ones (a project declares custom statuses and types in its config, `status.custom` and
//! `types.custom`; any 1-50 byte dependency type is accepted).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! string_kind {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value that is not built in: a status or issue type is valid when the project's
            /// config declares it, a dependency type whenever it is 1-50 bytes long.
            Custom(String),
        }

        impl $name {
            /// Every built-in value.
            pub const BUILT_IN: &'static [&'static str] = &[$($text),+];

            /// The value as stored.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Custom(s) => s,
                }
            }

            /// Reads a stored value; anything not built in is `Custom`.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Custom(other.to_owned()),
                }
            }

            /// True for a built-in value.
            pub fn is_built_in(&self) -> bool {
                !matches!(self, $name::Custom(_))
            }

            /// True when built in, or declared in `custom` (exact, case-sensitive match).
            pub fn is_valid_with(&self, custom: &[String]) -> bool {
                match self {
                    $name::Custom(s) => !s.is_empty() && custom.iter().any(|c| c == s),
                    _ => true,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::parse(text)
            }
        }

        impl From<&String> for $name {
            fn from(text: &String) -> Self {
                Self::parse(text)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::parse(&text)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            /// Never fails: a value that is not built in is `Custom`.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(text))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&String::deserialize(d)?))
            }
        }
    };
}

string_kind! {
    /// Where an issue is in its life.
    Status {
        /// Not started.
        #[default]
        Open => "open",
        /// Being worked on.
        InProgress => "in_progress",
        /// Waiting on something.
        Blocked => "blocked",
        /// Put off until later.
        Deferred => "deferred",
        /// Done (has `closed_at`).
        Closed => "closed",
        /// Deleted, kept so the deletion syncs (has `deleted_at`).
        Tombstone => "tombstone",
        /// Kept at the top.
        Pinned => "pinned",
        /// Attached to an agent's hook.
        Hooked => "hooked",
    }
}

string_kind! {
    /// What kind of work an issue is.
    IssueType {
        /// Something broken.
        Bug => "bug",
        /// New behaviour.
        Feature => "feature",
        /// A unit of work.
        #[default]
        Task => "task",
        /// A group of issues.
        Epic => "epic",
        /// Maintenance.
        Chore => "chore",
    }
}

string_kind! {
    /// How one issue depends on another. Only the first four can hold work back.
    DependencyType {
        /// The target must close before the dependent is ready.
        #[default]
        Blocks => "blocks",
        /// The dependent is a child of the target (its parent).
        ParentChild => "parent-child",
        /// The dependent runs only if the target fails.
        ConditionalBlocks => "conditional-blocks",
        /// Waits for the target's children (the gate is in the metadata).
        WaitsFor => "waits-for",
        /// Loosely related.
        Related => "related",
        /// Found while working on the target.
        DiscoveredFrom => "discovered-from",
        /// A reply in the target's thread.
        RepliesTo => "replies-to",
        /// "See also"; never part of cycle checks.
        RelatesTo => "relates-to",
        /// Duplicates the target.
        Duplicates => "duplicates",
        /// Replaces the target.
        Supersedes => "supersedes",
        /// Written by the target (an agent or person issue).
        AuthoredBy => "authored-by",
        /// Assigned to the target.
        AssignedTo => "assigned-to",
        /// Approved by the target.
        ApprovedBy => "approved-by",
        /// Vouches for the target.
        Attests => "attests",
        /// Tracked by a convoy (never blocks).
        Tracks => "tracks",
        /// Lasts until the target happens.
        Until => "until",
        /// Caused by the target.
        CausedBy => "caused-by",
        /// Checks the target.
        Validates => "validates",
        /// Handed on by the target.
        DelegatedFrom => "delegated-from",
    }
}

impl DependencyType {
    /// True for the types whose changes can change which issues are ready.
    pub fn affects_ready_work(&self) -> bool {
        matches!(
            self,
            DependencyType::Blocks
                | DependencyType::ParentChild
                | DependencyType::ConditionalBlocks
                | DependencyType::WaitsFor
        )
    }
}

impl IssueType {
    /// Maps the aliases Go accepts on update (`enhancement`, `feat`, any case) to `feature`.
    pub fn normalized(&self) -> IssueType {
        let lower = self.as_str().to_ascii_lowercase();
        match lower.as_str() {
            "enhancement" | "feat" | "feature" => IssueType::Feature,
            "bug" | "task" | "epic" | "chore" => IssueType::parse(&lower),
            _ => self.clone(),
        }
    }
}

/// Parses a comma-separated custom list from config: parts trimmed, empty parts dropped.
pub fn parse_custom_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_and_custom_values_round_trip() {
        assert_eq!(Status::parse("in_progress"), Status::InProgress);
        assert_eq!(Status::parse("review"), Status::Custom("review".into()));
        assert_eq!(Status::Custom("review".into()).as_str(), "review");
        assert!(Status::parse("review").is_valid_with(&["review".into()]));
        assert!(!Status::parse("Review").is_valid_with(&["review".into()]));
        assert!(!Status::parse("").is_valid_with(&[]));
        assert_eq!(IssueType::parse("FEAT").normalized(), IssueType::Feature);
        assert_eq!(
            parse_custom_list(" molecule, gate,,convoy "),
            ["molecule", "gate", "convoy"]
        );
    }
}
