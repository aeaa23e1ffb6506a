//! The content hash Go beads stores in `issues.content_hash` and uses to detect changed issues:
//! SHA-256 over the issue's content fields in a fixed order, each followed by a NUL byte, as
//! lowercase hex. Timestamps, ids and bookkeeping columns are not part of it.

use sha2::{Digest, Sha256};

/// An entity reference (HOP creator or validator).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityRef {
    /// Display name.
    pub name: String,
    /// Platform the entity lives on.
    pub platform: String,
    /// Organisation.
    pub org: String,
    /// Platform-specific id.
    pub id: String,
}

/// A HOP validation of an issue.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Validation {
    /// Who validated.
    pub validator: Option<EntityRef>,
    /// The outcome text.
    pub outcome: String,
    /// When, as RFC 3339 text with second precision (what Go hashes).
    pub timestamp_rfc3339: String,
    /// Optional score.
    pub score: Option<f32>,
}

/// Every field that takes part in the content hash; missing fields hash as their zero value.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct ContentHashFields {
    pub title: String,
    pub description: String,
    pub design: String,
    pub acceptance_criteria: String,
    pub notes: String,
    pub status: String,
    pub priority: i64,
    pub issue_type: String,
    pub assignee: String,
    pub owner: String,
    pub created_by: String,
    pub external_ref: Option<String>,
    pub source_system: String,
    pub pinned: bool,
    pub is_template: bool,
    /// (source id, bond type, bond point) of each bonded molecule.
    pub bonded_from: Vec<(String, String, String)>,
    pub creator: Option<EntityRef>,
    pub validations: Vec<Validation>,
    pub quality_score: Option<f32>,
    pub crystallizes: bool,
    pub await_type: String,
    pub await_id: String,
    /// Gate timeout in nanoseconds.
    pub timeout_ns: i64,
    pub waiters: Vec<String>,
    pub holder: String,
    pub hook_bead: String,
    pub role_bead: String,
    pub agent_state: String,
    pub role_type: String,
    pub rig: String,
    pub mol_type: String,
    pub work_type: String,
    pub event_kind: String,
    pub actor: String,
    pub target: String,
    pub payload: String,
}

struct FieldWriter(Sha256);

impl FieldWriter {
    fn bytes(&mut self, b: &[u8]) {
        self.0.update(b);
        self.0.update([0u8]);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        self.bytes(s.unwrap_or("").as_bytes());
    }
    fn int(&mut self, n: i64) {
        self.bytes(n.to_string().as_bytes());
    }
    fn flag(&mut self, on: bool, label: &str) {
        self.bytes(if on { label.as_bytes() } else { b"" });
    }
    fn opt_f32(&mut self, v: Option<f32>) {
        // Go formats a float32 with %f: six decimals of the exact float32 value.
        match v {
            Some(x) => self.bytes(format!("{x:.6}").as_bytes()),
            None => self.bytes(b""),
        }
    }
    fn entity(&mut self, e: Option<&EntityRef>) {
        if let Some(e) = e {
            self.str(&e.name);
            self.str(&e.platform);
            self.str(&e.org);
            self.str(&e.id);
        }
    }
}

impl ContentHashFields {
    /// The lowercase hex SHA-256 content hash, identical to Go's `Issue.ComputeContentHash`.
    pub fn content_hash(&self) -> String {
        let mut w = FieldWriter(Sha256::new());
        w.str(&self.title);
        w.str(&self.description);
        w.str(&self.design);
        w.str(&self.acceptance_criteria);
        w.str(&self.notes);
        w.str(&self.status);
        w.int(self.priority);
        w.str(&self.issue_type);
        w.str(&self.assignee);
        w.str(&self.owner);
        w.str(&self.created_by);
        w.opt_str(self.external_ref.as_deref());
        w.str(&self.source_system);
        w.flag(self.pinned, "pinned");
        w.flag(self.is_template, "template");
        for (source, bond_type, point) in &self.bonded_from {
            w.str(source);
            w.str(bond_type);
            w.str(point);
        }
        w.entity(self.creator.as_ref());
        for v in &self.validations {
            w.entity(v.validator.as_ref());
            w.str(&v.outcome);
            w.str(&v.timestamp_rfc3339);
            w.opt_f32(v.score);
        }
        w.opt_f32(self.quality_score);
        w.flag(self.crystallizes, "crystallizes");
        w.str(&self.await_type);
        w.str(&self.await_id);
        w.int(self.timeout_ns);
        for waiter in &self.waiters {
            w.str(waiter);
        }
        w.str(&self.holder);
        w.str(&self.hook_bead);
        w.str(&self.role_bead);
        w.str(&self.agent_state);
        w.str(&self.role_type);
        w.str(&self.rig);
        w.str(&self.mol_type);
        w.str(&self.work_type);
        w.str(&self.event_kind);
        w.str(&self.actor);
        w.str(&self.target);
        w.str(&self.payload);
        w.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Issue, IssueType, Status};

    // Expected values computed outside this crate (a short Python script following Go's
    // `ComputeContentHash` field list: each field's text then a NUL, nil creator and
    // validations writing nothing, a nil quality score an empty field).
    #[test]
    fn hashes_match_vectors_derived_from_the_go_rules() {
        let plain = Issue::new("first");
        assert_eq!(
            plain.compute_content_hash(),
            "424dd3cd758961c0c84e6ffe5920d4cd7ac711166591b242691785b567df8d11"
        );

        let mut full = Issue::new("Fix <login> & logout");
        full.description = "multi\nline".into();
        full.status = Status::Closed;
        full.priority = 0;
        full.issue_type = IssueType::Bug;
        full.assignee = "alice".into();
        full.owner = "o@x".into();
        full.created_by = "bob".into();
        full.external_ref = Some("gh-12".into());
        full.pinned = true;
        full.await_type = "timer".into();
        full.await_id = "t1".into();
        full.timeout_ns = 30_000_000_000;
        full.waiters = vec!["a".into(), "b".into()];
        full.agent_state = "idle".into();
        full.rig = "r".into();
        full.mol_type = "swarm".into();
        assert_eq!(
            full.compute_content_hash(),
            "f8051cc9c8b1a68ca0464e819874390fc1a107e757c7dcd393d82c5deaa5d11d"
        );
        // Fields outside the hash leave it alone.
        full.id = "bd-1".into();
        full.labels = vec!["x".into()];
        full.ephemeral = true;
        assert_eq!(
            full.compute_content_hash(),
            "f8051cc9c8b1a68ca0464e819874390fc1a107e757c7dcd393d82c5deaa5d11d"
        );
    }
}
