//! tokenctl's directories, by the XDG base directory rules (an unset or relative variable
//! falls back to the usual place under the home directory). Written here rather than with a
//! crate: three variables, and no crate keeps the XDG layout on macOS as tokenctl does.
#![doc(hidden)]

use std::path::PathBuf;

/// `$VARIABLE/tokenctl`, else `~/FALLBACK/tokenctl`; `None` without either.
fn base(variable: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::home_dir().map(|home| home.join(fallback)))
        .map(|dir| dir.join("tokenctl"))
}

/// `$XDG_CONFIG_HOME/tokenctl`, else `~/.config/tokenctl` (`./tokenctl` without a home).
pub fn config_dir() -> PathBuf {
    base("XDG_CONFIG_HOME", ".config").unwrap_or_else(|| PathBuf::from("tokenctl"))
}

/// `$XDG_DATA_HOME/tokenctl`, else `~/.local/share/tokenctl` (`./tokenctl` without a home).
pub fn data_dir() -> PathBuf {
    base("XDG_DATA_HOME", ".local/share").unwrap_or_else(|| PathBuf::from("tokenctl"))
}

/// `$XDG_CACHE_HOME/tokenctl`, else `~/.cache/tokenctl`; `None` without a home: no cache.
pub fn cache_dir() -> Option<PathBuf> {
    base("XDG_CACHE_HOME", ".cache")
}
