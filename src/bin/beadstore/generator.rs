//! A deterministic generator of realistic beads projects: epics with hierarchical children,
//! blocking chains across them, labels, comments, and a mix of closed, in-progress and open
//! work. The same seed always gives the same project. Used by `beadstore demo` and by the
//! benchmarks; nothing in it comes from real data.

use beadstore::model::{Comment, Dependency, DependencyType, Issue, IssueType, Status, Timestamp};

/// A small, fast, deterministic PRNG (SplitMix64): enough for shaping test data.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const AREAS: &[&str] = &[
    "storage", "sync", "cli", "daemon", "import", "export", "search", "auth", "docs", "ci",
];
const VERBS: &[&str] = &[
    "Add", "Fix", "Refactor", "Document", "Speed up", "Test", "Remove", "Harden", "Split",
];
const THINGS: &[&str] = &[
    "checkpoint on close",
    "lock timeout handling",
    "JSONL export ordering",
    "ready work query",
    "dependency tree output",
    "config loading",
    "WAL growth",
    "migration of old files",
    "label filters",
    "error messages",
    "retry on busy",
    "progress reporting",
];
const PEOPLE: &[&str] = &["alice", "bob", "carol", "dave", "erin"];
const LABELS: &[&str] = &[
    "bug",
    "perf",
    "ux",
    "tech-debt",
    "good-first-issue",
    "security",
    "docs",
    "p-critical",
];

/// The project's issues, each with its labels, dependencies and comments embedded (the
/// JSONL shape), parents before children.
pub fn project(prefix: &str, issues: usize, seed: u64) -> Vec<Issue> {
    let mut rng = Rng::new(seed);
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-06T09:00:00Z")
        .unwrap_or_else(|_| beadstore::model::time_serde::unset());
    let mut out: Vec<Issue> = Vec::with_capacity(issues);
    let mut n = 0usize;
    while out.len() < issues {
        // An epic, then up to 8 children (some with their own sub-tasks).
        let epic_id = format!("{prefix}-{:04x}", 0x1000 + n);
        n += 1;
        let area = *rng.pick(AREAS);
        let epic_at = start + chrono::Duration::minutes((out.len() * 37) as i64);
        let title = format!("{} epic: {}", capitalised(area), rng.pick(THINGS));
        let mut epic = issue(&mut rng, &epic_id, title, IssueType::Epic, epic_at);
        epic.labels = vec![area.to_owned()];
        out.push(epic);
        let children = 2 + rng.below(7);
        let mut previous: Option<String> = None;
        for c in 1..=children {
            if out.len() >= issues {
                break;
            }
            let child_id = format!("{epic_id}.{c}");
            let kind = rng
                .pick(&[
                    IssueType::Task,
                    IssueType::Task,
                    IssueType::Bug,
                    IssueType::Feature,
                    IssueType::Chore,
                ])
                .clone();
            let at = epic_at + chrono::Duration::minutes((c * 11) as i64);
            let title = format!("{} {} ({area})", rng.pick(VERBS), rng.pick(THINGS));
            let mut child = issue(&mut rng, &child_id, title, kind, at);
            child
                .dependencies
                .push(dep(&child_id, &epic_id, DependencyType::ParentChild, at));
            // Chains: a child often waits for the one before it.
            if let Some(prev) = &previous {
                if rng.chance(45) {
                    child
                        .dependencies
                        .push(dep(&child_id, prev, DependencyType::Blocks, at));
                }
            }
            // Now and then, work that waits on another epic's child.
            if rng.chance(8) && out.len() > 20 {
                let other = out[rng.below(out.len() - 10)].id.clone();
                if other != child_id && !other.starts_with(&epic_id) {
                    child
                        .dependencies
                        .push(dep(&child_id, &other, DependencyType::Blocks, at));
                }
            }
            previous = Some(child_id.clone());
            out.push(child);
            if rng.chance(15) && out.len() < issues {
                let sub_id = format!("{child_id}.1");
                let sub_at = at + chrono::Duration::minutes(3);
                let title = format!("Sub-task: {}", rng.pick(THINGS));
                let mut sub = issue(&mut rng, &sub_id, title, IssueType::Task, sub_at);
                sub.dependencies
                    .push(dep(&sub_id, &child_id, DependencyType::ParentChild, sub_at));
                out.push(sub);
            }
        }
    }
    settle_statuses(&mut out);
    out
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn dep(from: &str, to: &str, kind: DependencyType, at: Timestamp) -> Dependency {
    let mut d = Dependency::new(from, to, kind);
    d.created_at = at;
    d.created_by = "generator".into();
    d
}

fn issue(rng: &mut Rng, id: &str, title: String, kind: IssueType, at: Timestamp) -> Issue {
    let mut issue = Issue::new(title);
    issue.id = id.to_owned();
    issue.issue_type = kind;
    issue.priority = [0, 1, 1, 2, 2, 2, 3, 4][rng.below(8)];
    issue.created_at = at;
    issue.updated_at = at;
    issue.created_by = rng.pick(PEOPLE).to_string();
    issue.description = format!(
        "Observed while working on {}. Steps and context are in the linked discussion.",
        rng.pick(THINGS)
    );
    if rng.chance(40) {
        issue.assignee = rng.pick(PEOPLE).to_string();
    }
    if rng.chance(35) {
        let mut labels = vec![rng.pick(LABELS).to_string()];
        if rng.chance(30) {
            labels.push(rng.pick(LABELS).to_string());
        }
        labels.sort();
        labels.dedup();
        issue.labels = labels;
    }
    for k in 0..rng.below(3) {
        issue.comments.push(Comment {
            id: 0,
            issue_id: id.to_owned(),
            author: rng.pick(PEOPLE).to_string(),
            text: [
                "Reproduced locally.",
                "Working on it.",
                "Needs a test first.",
                "Done in the branch.",
            ][rng.below(4)]
            .to_owned(),
            created_at: at + chrono::Duration::minutes(5 + k as i64),
        });
    }
    issue
}

/// The older two thirds of the work is mostly done; the rest is a mix of open and in
/// progress. An issue is closed only when everything blocking it is, so the project reads
/// like real history.
fn settle_statuses(issues: &mut [Issue]) {
    let done_before = issues.len() * 2 / 3;
    let mut closed: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, issue) in issues.iter_mut().enumerate() {
        let blockers_closed = issue
            .dependencies
            .iter()
            .filter(|d| d.dep_type == DependencyType::Blocks)
            .all(|d| closed.contains(&d.depends_on_id));
        let roll = (i * 7919) % 100;
        let status = if i < done_before
            && blockers_closed
            && roll < 85
            && issue.issue_type != IssueType::Epic
        {
            Status::Closed
        } else if roll % 5 == 0 {
            Status::InProgress
        } else {
            Status::Open
        };
        if status == Status::Closed {
            let at = issue.created_at + chrono::Duration::hours(20 + (roll as i64 % 48));
            issue.closed_at = Some(at);
            issue.updated_at = at;
            issue.close_reason = "Done".into();
            closed.insert(issue.id.clone());
        }
        issue.status = status;
    }
}
