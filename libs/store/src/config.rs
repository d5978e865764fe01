use std::time::Duration;

use crate::StoreError;

/// Where a service keeps its state.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `postgres://user@host:port/db` or `sqlite://path/to/file.db`
    /// (`sqlite::memory:` for a throwaway database).
    pub url: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// How long a caller may wait for a free pooled connection.
    pub acquire_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite::memory:".into(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database engines a store may run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The engine a URL names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
                reason: "expected postgres:// or sqlite://".into(),
            }),
        }
    }
}

/// The URL with any password replaced by `***`, fit for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// For a file-backed SQLite URL, the file path.
pub(crate) fn sqlite_file(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("sqlite://data/a.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        let err = Backend::of_url("mysql://root:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mysql://root:***@h/db"), "{err}");
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/zt"),
            "postgres://app:***@db:5432/zt"
        );
        assert_eq!(redact_url("postgres://app@db/zt"), "postgres://app@db/zt");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(redact_url("postgres://a:b:c@h"), "postgres://a:***@h");
    }

    #[test]
    fn sqlite_file_paths() {
        assert_eq!(
            sqlite_file("sqlite://data/a.db?mode=rwc"),
            Some("data/a.db")
        );
        assert_eq!(sqlite_file("sqlite:///abs/a.db"), Some("/abs/a.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
