//! Opening a store: the store layer opens the file (engine, locks, schema, freshness), then a
//! read-write open of a multi-repo project reads the other repositories' changed JSONL into it,
//! as Go beads does. The second step belongs to the JSONL layer, so it is composed here, above
//! both, and the store layer never calls up into `jsonl`.

use std::path::Path;

use crate::error::Result;
use crate::store::{current_dir, location, OpenOptions, Store};

impl OpenOptions {
    /// Opens a database file (or `:memory:`) with these options; see [`Store::open`].
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Store> {
        let location = location::from_path(path.as_ref(), &current_dir()?)?;
        self.hydrated(Store::open_at(location, self)?)
    }

    /// Opens a `file:` URI (or `:memory:`) with these options; see [`Store::open_uri`]. The
    /// options win over the URI's own `_pragma=busy_timeout`; `mode=ro` or the options make
    /// it read-only.
    pub fn open_uri(&self, uri: &str) -> Result<Store> {
        let location = location::parse_uri(uri, &current_dir()?)?;
        self.hydrated(Store::open_at(location, self)?)
    }

    /// The store after multi-repo hydration, when it applies (a read-write store of a file);
    /// a failed hydration closes the store and fails the open.
    fn hydrated(&self, store: Store) -> Result<Store> {
        if !store.on_disk()
            || store.is_read_only()
            || !self.hydrate
            || !store.project.may_be_multi_repo()
        {
            return Ok(store);
        }
        match store.hydrate_from_multi_repo() {
            Ok(_) => Ok(store),
            Err(e) => {
                let _ = store.close();
                Err(e)
            }
        }
    }
}
