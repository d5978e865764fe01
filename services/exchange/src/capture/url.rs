//! PostgreSQL connection URLs (`postgres://user:password@host:port/db`).

use std::fmt;

/// Where and as whom to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log.
        write!(f, "{self}")
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid source URL: {0}")]
pub struct UrlError(pub String);

impl SourceUrl {
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| UrlError("must start with postgres://".into()))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, path),
            None => (rest, ""),
        };
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let (user, password) = match credentials {
            Some(credentials) => match credentials.split_once(':') {
                Some((user, password)) => (decode(user)?, Some(decode(password)?)),
                None => (decode(credentials)?, None),
            },
            None => (String::new(), None),
        };
        let (host, port) = split_host_port(host_port)?;
        let user = if user.is_empty() {
            "postgres".to_owned()
        } else {
            user
        };
        let database = decode(path)?;
        let database = if database.is_empty() {
            user.clone()
        } else {
            database
        };
        for (key, value) in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|p| p.split_once('='))
        {
            if key == "sslmode" && !matches!(value, "disable" | "allow" | "prefer") {
                return Err(UrlError(format!(
                    "sslmode={value} is not supported: connections to sources are plain TCP for now"
                )));
            }
        }
        for text in [&user, &database, &host] {
            if text.contains('\0') {
                return Err(UrlError("contains a NUL character".into()));
            }
        }
        if password.as_deref().is_some_and(|p| p.contains('\0')) {
            return Err(UrlError("the password contains a NUL character".into()));
        }
        Ok(Self {
            host,
            port,
            user,
            password,
            database,
        })
    }
}

fn split_host_port(host_port: &str) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, rest) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlError("unclosed [ in host".into()))?;
        (host.to_owned(), rest.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (host_port.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(UrlError("no host".into()));
    }
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| UrlError(format!("bad port {port:?}")))?,
        None => 5432,
    };
    Ok((decode(&host)?, port))
}

/// Percent-decoding.
fn decode(text: &str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| UrlError("bad percent escape".into()))?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("not UTF-8 after percent-decoding".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_part() {
        let url =
            SourceUrl::parse("postgres://civil%40gov:p%3Ass@db.example:6543/registry").unwrap();
        assert_eq!(url.user, "civil@gov");
        assert_eq!(url.password.as_deref(), Some("p:ss"));
        assert_eq!(url.host, "db.example");
        assert_eq!(url.port, 6543);
        assert_eq!(url.database, "registry");
        assert!(!format!("{url:?}").contains("p:ss"));
    }

    #[test]
    fn fills_defaults() {
        let url = SourceUrl::parse("postgresql://127.0.0.1").unwrap();
        assert_eq!((url.user.as_str(), url.port), ("postgres", 5432));
        assert_eq!(url.database, "postgres");
        let url = SourceUrl::parse("postgres://u@[::1]:5433/d?sslmode=disable").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 5433));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for bad in [
            "mysql://h/d",
            "postgres://h:notaport/d",
            "postgres:///d",
            "postgres://u%zz@h/d",
            "postgres://u%+1@h/d",
            "postgres://h/d?sslmode=require",
            "postgres://u%00@h/d",
            "postgres://[::1/d",
        ] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
