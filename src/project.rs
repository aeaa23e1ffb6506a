//! The project configuration Go beads reads from one `config.yaml`, found where Go looks: the
//! nearest `.beads/config.yaml` walking up from the project, else `~/.config/bd/config.yaml`
//! (`$XDG_CONFIG_HOME/bd`), else `~/.beads/config.yaml`; `BD_*` environment variables take
//! precedence over the file (`BD_` and the key upper-cased, `.` and `-` as `_`). The storage
//! layer acts on the repositories to hydrate from, the external projects `external:`
//! dependencies point at, the issue types and statuses declared there, the hierarchy depth
//! and the import's orphan handling; every other scalar key is kept for [`ProjectConfig::get`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::error::{Error, Result};
use crate::model::kinds::parse_custom_list;

/// The configuration file's name inside `.beads/`.
pub const CONFIG_FILE: &str = "config.yaml";

/// The storage-relevant part of a project's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectConfig {
    /// The file that was read, if any.
    pub source: Option<PathBuf>,
    /// The directory relative paths are resolved against: the repository root (the parent of
    /// `.beads/`), or the current directory when there is no file.
    pub root: PathBuf,
    /// The primary repository of a multi-repo setup (`repos.primary`); empty = single repo.
    pub repos_primary: String,
    /// Further repositories whose issues are hydrated into this database (`repos.additional`),
    /// as written in the configuration (they double as each issue's `source_repo`).
    pub repos_additional: Vec<String>,
    /// Projects `external:<project>:<capability>` dependencies may name, with their
    /// repository paths as written (`external_projects`).
    pub external_projects: BTreeMap<String, String>,
    /// Issue types declared in the file (`types.custom`), used when the database declares none.
    pub custom_types: Vec<String>,
    /// How many levels of hierarchical child ids are allowed (`hierarchy.max-depth`; 3 when
    /// unset or not a positive number).
    pub hierarchy_max_depth: Option<usize>,
    /// Statuses declared in the file (`status.custom`), used when the database declares none.
    pub custom_statuses: Vec<String>,
    /// The import's orphan handling (`import.orphan_handling`), used when the database's
    /// config has none.
    pub orphan_handling: Option<String>,
    /// Every scalar key of the file by its dotted name (`no-auto-flush`, `sync.mode`, ...),
    /// as written; lists are joined with commas.
    pub settings: BTreeMap<String, String>,
}

/// Where Go bd looks for its one `config.yaml`, after the project's own.
fn user_config_files(var: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let home = var("HOME").filter(|h| !h.is_empty());
    // Go's os.UserConfigDir: $XDG_CONFIG_HOME when set (and absolute), else ~/.config.
    match var("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        Some(xdg) if Path::new(&xdg).is_absolute() => {
            files.push(Path::new(&xdg).join("bd").join(CONFIG_FILE));
        }
        Some(_) => {}
        None => {
            if let Some(home) = &home {
                files.push(Path::new(home).join(".config").join("bd").join(CONFIG_FILE));
            }
        }
    }
    if let Some(home) = &home {
        files.push(Path::new(home).join(".beads").join(CONFIG_FILE));
    }
    files
}

/// The `config.yaml` for the database at `db_path`: the one in its own directory, else what
/// Go's search finds from there.
fn config_file_for_database(
    db_path: &Path,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let dir = db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let beside = dir.join(CONFIG_FILE);
    if beside.is_file() {
        return Some(beside);
    }
    find_config_file(dir, var)
}

/// The `config.yaml` Go bd would read for work started in `start`: the nearest
/// `.beads/config.yaml` in `start` or above (the file-system root itself is not searched, as
/// in Go), else the user's.
pub fn find_config_file(start: &Path, var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .filter(|dir| dir.parent().is_some())
        .map(|dir| dir.join(".beads").join(CONFIG_FILE))
        .chain(user_config_files(var))
        .find(|file| file.is_file())
}

impl ProjectConfig {
    /// The configuration of the project whose database is at `db_path`: `config.yaml` in the
    /// database's own directory when there is one (a database outside `.beads/`), else the
    /// file Go's search finds from that directory ([`find_config_file`]); then the `BD_*`
    /// environment overrides.
    pub fn for_database(db_path: &Path) -> Result<Self> {
        let dir = db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let var = |key: &str| std::env::var(key).ok();
        let file = config_file_for_database(db_path, &var);
        Self::load(file.as_deref(), repo_root_of(dir), &var)
    }

    /// Reads `file` (none: the defaults, rooted at `root`) and applies the environment.
    fn load(
        file: Option<&Path>,
        root: PathBuf,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut config = match file {
            None => ProjectConfig {
                root,
                ..ProjectConfig::default()
            },
            Some(file) => match std::fs::read_to_string(file) {
                Ok(text) => Self::parse(&text, file)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ProjectConfig {
                    root,
                    ..ProjectConfig::default()
                },
                Err(e) => return Err(Error::io("read project config", file, e)),
            },
        };
        config.apply_env(var);
        Ok(config)
    }

    /// Parses the text of a `config.yaml` found at `file` (which sets the repository root).
    pub fn parse(text: &str, file: &Path) -> Result<Self> {
        let bad = |message: String| Error::Config {
            path: file.to_path_buf(),
            message,
        };
        let docs = YamlLoader::load_from_str(text).map_err(|e| bad(e.to_string()))?;
        let root = repo_root_of(file.parent().unwrap_or(Path::new(".")));
        let mut config = ProjectConfig {
            source: Some(file.to_path_buf()),
            root,
            ..ProjectConfig::default()
        };
        let Some(doc) = docs.into_iter().next() else {
            return Ok(config);
        };
        if !matches!(doc, Yaml::Hash(_) | Yaml::Null) {
            return Err(bad("the top level is not a mapping".into()));
        }
        config.repos_primary = scalar(lookup(&doc, "repos.primary")).unwrap_or_default();
        config.repos_additional = string_list(lookup(&doc, "repos.additional"), false);
        config.custom_types = string_list(lookup(&doc, "types.custom"), true);
        config.hierarchy_max_depth =
            scalar(lookup(&doc, "hierarchy.max-depth")).and_then(|v| positive(&v));
        config.custom_statuses = string_list(lookup(&doc, "status.custom"), true);
        config.orphan_handling =
            scalar(lookup(&doc, "import.orphan_handling")).filter(|v| !v.is_empty());
        flatten_into(&doc, "", &mut config.settings);
        if let Some(Yaml::Hash(projects)) = lookup(&doc, "external_projects") {
            for (name, path) in projects {
                if let (Some(name), Some(path)) = (scalar(Some(name)), scalar(Some(path))) {
                    config.external_projects.insert(name, path);
                }
            }
        }
        Ok(config)
    }

    /// Applies the `BD_*` environment overrides of the keys above (`BD_REPOS_PRIMARY`,
    /// `BD_REPOS_ADDITIONAL` whitespace-separated, `BD_TYPES_CUSTOM`, `BD_STATUS_CUSTOM`,
    /// `BD_HIERARCHY_MAX_DEPTH`, `BD_IMPORT_ORPHAN_HANDLING`); [`ProjectConfig::get`] looks
    /// the others up when asked.
    pub fn apply_env(&mut self, var: &dyn Fn(&str) -> Option<String>) {
        if let Some(primary) = var("BD_REPOS_PRIMARY") {
            self.repos_primary = primary;
        }
        if let Some(additional) = var("BD_REPOS_ADDITIONAL") {
            self.repos_additional = additional.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(types) = var("BD_TYPES_CUSTOM") {
            self.custom_types = parse_custom_list(&types);
        }
        if let Some(statuses) = var("BD_STATUS_CUSTOM") {
            self.custom_statuses = parse_custom_list(&statuses);
        }
        if let Some(depth) = var("BD_HIERARCHY_MAX_DEPTH") {
            self.hierarchy_max_depth = positive(&depth);
        }
        if let Some(mode) = var("BD_IMPORT_ORPHAN_HANDLING") {
            self.orphan_handling = Some(mode).filter(|m| !m.is_empty());
        }
    }

    /// A setting by its dotted key: the `BD_*` variable when set, else the file's value.
    pub fn get(&self, key: &str) -> Option<String> {
        std::env::var(env_name(key))
            .ok()
            .or_else(|| self.settings.get(key).cloned())
    }

    /// A boolean setting, read as Go's `strconv.ParseBool` reads it (`1`, `t`, `true`, ...);
    /// anything else, or nothing, is `None`.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get(key)?.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        }
    }

    /// Whether this is a multi-repo setup (a primary repository is configured).
    pub fn is_multi_repo(&self) -> bool {
        !self.repos_primary.is_empty()
    }

    /// A configured path made absolute: `~` and `~/` expand to the home directory, and a
    /// relative path is taken from the repository root.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let expanded = expand_home(path);
        if expanded.is_absolute() {
            expanded
        } else {
            self.root.join(expanded)
        }
    }
}

/// A store's project configuration, read from disk the first time an operation needs it (so
/// stores that never do pay nothing at open), or given up front.
#[derive(Debug)]
pub(crate) struct ProjectSource {
    db_file: Option<PathBuf>,
    loaded: std::sync::OnceLock<std::result::Result<std::sync::Arc<ProjectConfig>, String>>,
}

impl ProjectSource {
    /// Read lazily for the database at `db_file` (`None` in memory: no configuration).
    pub(crate) fn lazy(db_file: Option<PathBuf>) -> Self {
        ProjectSource {
            db_file,
            loaded: std::sync::OnceLock::new(),
        }
    }

    /// A configuration given by the caller; the disk is never read for it.
    pub(crate) fn given(config: ProjectConfig, db_file: Option<PathBuf>) -> Self {
        let source = Self::lazy(db_file);
        let _ = source.loaded.set(Ok(std::sync::Arc::new(config)));
        source
    }

    /// Whether the project could be multi-repo, without parsing anything when it plainly is
    /// not (no `repos` in the file, no `BD_REPOS_PRIMARY`): every read-write open asks.
    pub(crate) fn may_be_multi_repo(&self) -> bool {
        if let Some(loaded) = self.loaded.get() {
            return loaded.as_ref().map_or(true, |c| c.is_multi_repo());
        }
        if std::env::var_os("BD_REPOS_PRIMARY").is_some() {
            return true;
        }
        let Some(db_file) = self.db_file.as_deref() else {
            return false;
        };
        let Some(file) = config_file_for_database(db_file, &|key| std::env::var(key).ok()) else {
            return false;
        };
        match std::fs::read(file) {
            Ok(text) => text.windows(5).any(|w| w == b"repos"),
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        }
    }

    /// `issues.jsonl` beside the database: the history deleted issues come back from.
    pub(crate) fn jsonl_history(&self) -> Option<PathBuf> {
        self.db_file
            .as_deref()
            .and_then(Path::parent)
            .map(|dir| dir.join("issues.jsonl"))
    }

    /// The configuration; a file that cannot be read or parsed is an `Error::Config` for every
    /// caller that needs it (and only them).
    pub(crate) fn get(&self) -> Result<std::sync::Arc<ProjectConfig>> {
        let loaded = self.loaded.get_or_init(|| match &self.db_file {
            None => Ok(std::sync::Arc::new(ProjectConfig::default())),
            Some(file) => ProjectConfig::for_database(file)
                .map(std::sync::Arc::new)
                .map_err(|e| e.to_string()),
        });
        loaded.clone().map_err(|message| Error::Config {
            path: self
                .db_file
                .as_deref()
                .and_then(Path::parent)
                .map(|d| d.join(CONFIG_FILE))
                .unwrap_or_default(),
            message,
        })
    }
}

/// `~` or `~/rest` with the home directory put in; anything else unchanged (`~user` is not
/// supported, as in Go beads).
pub fn expand_home(path: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if path == "~" {
        if let Some(home) = home() {
            return home;
        }
    } else if let Some(rest) = path.strip_prefix("~/") {
        if let Some(home) = home() {
            return home.join(rest);
        }
    }
    PathBuf::from(path)
}

/// The repository root for a `.beads` directory: its parent (the directory itself when it is
/// not called `.beads`).
fn repo_root_of(beads_dir: &Path) -> PathBuf {
    let absolute = std::path::absolute(beads_dir).unwrap_or_else(|_| beads_dir.to_path_buf());
    if absolute.file_name().is_some_and(|n| n == ".beads") {
        absolute.parent().map(Path::to_path_buf).unwrap_or(absolute)
    } else {
        absolute
    }
}

/// A dotted key, looked up either as nested mappings (`repos: {primary: x}`) or as one flat
/// key (`repos.primary: x`), as viper accepts both.
fn lookup<'a>(doc: &'a Yaml, dotted: &str) -> Option<&'a Yaml> {
    let Yaml::Hash(map) = doc else { return None };
    if let Some(value) = map.get(&Yaml::String(dotted.to_owned())) {
        return Some(value);
    }
    let mut node = doc;
    for part in dotted.split('.') {
        let Yaml::Hash(map) = node else { return None };
        node = map.get(&Yaml::String(part.to_owned()))?;
    }
    Some(node)
}

/// The environment variable viper binds to a key: `BD_`, upper-cased, `.` and `-` as `_`.
pub fn env_name(key: &str) -> String {
    format!("BD_{}", key.to_ascii_uppercase().replace(['.', '-'], "_"))
}

/// Every scalar under `node` by its dotted key; a list of scalars joined with commas.
fn flatten_into(node: &Yaml, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Yaml::Hash(map) = node else { return };
    for (key, value) in map {
        let Some(key) = scalar(Some(key)) else {
            continue;
        };
        let dotted = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Yaml::Hash(_) => flatten_into(value, &dotted, out),
            Yaml::Array(items) => {
                let joined: Vec<String> = items.iter().filter_map(|i| scalar(Some(i))).collect();
                out.insert(dotted, joined.join(","));
            }
            other => {
                if let Some(text) = scalar(Some(other)) {
                    out.insert(dotted, text);
                }
            }
        }
    }
}

fn positive(text: &str) -> Option<usize> {
    text.trim().parse().ok().filter(|&n| n > 0)
}

fn scalar(node: Option<&Yaml>) -> Option<String> {
    match node? {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list given either as a sequence or as one string (comma-separated when `commas`, else
/// whitespace-separated, as viper splits a string into a slice).
fn string_list(node: Option<&Yaml>, commas: bool) -> Vec<String> {
    match node {
        Some(Yaml::Array(items)) => items
            .iter()
            .filter_map(|item| scalar(Some(item)))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(other) => match scalar(Some(other)) {
            Some(text) if commas => parse_custom_list(&text),
            Some(text) => text.split_whitespace().map(str::to_owned).collect(),
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProjectConfig {
        ProjectConfig::parse(text, Path::new("/repo/.beads/config.yaml")).unwrap()
    }

    #[test]
    fn nested_and_flat_keys_both_read() {
        let nested = parse(
            "repos:\n  primary: \".\"\n  additional:\n    - ~/work/other\n    - ../sibling\n\
             types:\n  custom: [molecule, gate]\nexternal_projects:\n  tools: ../tools\n\
             issue-prefix: bd\nhierarchy:\n  max-depth: 5\n",
        );
        assert_eq!(nested.repos_primary, ".");
        assert_eq!(nested.repos_additional, ["~/work/other", "../sibling"]);
        assert_eq!(nested.custom_types, ["molecule", "gate"]);
        assert_eq!(nested.external_projects["tools"], "../tools");
        assert_eq!(nested.root, Path::new("/repo"));
        assert_eq!(nested.hierarchy_max_depth, Some(5));
        assert!(nested.is_multi_repo());

        let flat = parse("repos.primary: main\ntypes.custom: \"molecule, gate\"\n");
        assert_eq!(flat.repos_primary, "main");
        assert_eq!(flat.custom_types, ["molecule", "gate"]);
        assert!(flat.repos_additional.is_empty());
    }

    #[test]
    fn an_empty_file_is_single_repo_and_bad_yaml_is_a_typed_error() {
        let empty = parse("");
        assert!(!empty.is_multi_repo());
        assert!(empty.external_projects.is_empty());
        let err = ProjectConfig::parse("repos: [unclosed", Path::new("/r/.beads/config.yaml"))
            .unwrap_err();
        assert!(
            matches!(err, Error::Config { ref path, .. } if path.ends_with("config.yaml")),
            "{err:?}"
        );
        let err =
            ProjectConfig::parse("- a\n- b\n", Path::new("/r/.beads/config.yaml")).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }

    #[test]
    fn environment_overrides_win() {
        let mut config = parse("repos:\n  primary: a\n  additional: [b]\n");
        config.apply_env(&|key| match key {
            "BD_REPOS_PRIMARY" => Some("z".into()),
            "BD_REPOS_ADDITIONAL" => Some(" x  y ".into()),
            "BD_TYPES_CUSTOM" => Some("agent,role".into()),
            "BD_HIERARCHY_MAX_DEPTH" => Some("0".into()),
            _ => None,
        });
        assert_eq!(config.repos_primary, "z");
        assert_eq!(config.repos_additional, ["x", "y"]);
        assert_eq!(config.custom_types, ["agent", "role"]);
        assert_eq!(config.hierarchy_max_depth, None, "zero is not a depth");
    }

    #[test]
    fn paths_resolve_from_the_repository_root_and_home() {
        let config = parse("");
        assert_eq!(config.resolve("../x"), Path::new("/repo/../x"));
        assert_eq!(config.resolve("/abs"), Path::new("/abs"));
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(config.resolve("~/a"), PathBuf::from(home).join("a"));
        }
        assert_eq!(expand_home("~user/a"), Path::new("~user/a"));
    }
}
