//! JSONL, the form beads keeps issues in git (`.beads/issues.jsonl`): one issue per line with
//! its labels, dependencies and comments. Export writes what bd writes, byte for byte; import
//! takes what bd (or beadstore) wrote, all or nothing.

mod autosync;
mod encode;
mod export;
mod import;
mod multirepo;
mod read;
mod sync_state;

pub use autosync::{find_jsonl_in_dir, AutoImport, FlushSummary, SyncSummary};
pub use encode::{write_line, HtmlEscaping};
pub use export::{sha256_hex, write_atomically, ExportOptions, ExportSummary, Rendered};
pub use import::{ImportOptions, ImportProgress, ImportSummary, ProgressFn};
pub use multirepo::{repos, Repo, PRIMARY_SOURCE};
pub use read::{read_issues, Line, MAX_LINE_BYTES};
pub use sync_state::{
    go_repo_key, parse_import_time, repo_metadata_key, JsonlStaleness, JsonlSyncState,
    CONTENT_HASH_KEY, FILE_HASH_KEY, LAST_IMPORT_TIME_KEY, LEGACY_CONTENT_HASH_KEY,
};
