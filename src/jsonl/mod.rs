//! JSONL, the form beads keeps issues in git (`.beads/issues.jsonl`): one issue per line with
//! its labels, dependencies and comments. Export writes what bd writes, byte for byte; import
//! takes what bd (or beadstore) wrote, all or nothing.

mod encode;
mod export;
mod import;
mod multirepo;
mod read;

pub use encode::{write_line, HtmlEscaping};
pub use export::{sha256_hex, write_atomically, ExportOptions, ExportSummary, Rendered};
pub use import::{ImportOptions, ImportProgress, ImportSummary, ProgressFn};
pub use multirepo::{repos, Repo, PRIMARY_SOURCE};
pub use read::{read_issues, Line, MAX_LINE_BYTES};
