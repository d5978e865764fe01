//! Capabilities: named, versioned mappings from an external HTTP route to a
//! backend gRPC method, and their names (lowercase dotted words such as
//! `certificate.verify`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A valid capability name: 3..100 characters, words of lowercase letters,
/// digits, '-' and '_' (each starting with a letter) joined by single dots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapabilityName(String);

impl CapabilityName {
    pub fn parse(value: &str) -> Result<Self, String> {
        if !(3..=100).contains(&value.len()) {
            return Err(format!("must be 3..100 characters, got {}", value.len()));
        }
        let words_valid = value.split('.').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
        if !words_valid {
            return Err(format!(
                "must be lowercase dotted words such as certificate.verify, got `{value}`"
            ));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CapabilityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// HTTP methods a capability's route may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const ALL: [Self; 5] = [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete];

    /// The method as HTTP spells it (and as stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Inverse of [`HttpMethod::as_str`] (exact, upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// Which request field the JSON body fills.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyBinding {
    /// No body (GET, DELETE); every field not in the path binds from the
    /// query string.
    None,
    /// The body is the whole request message (`"*"`).
    Whole,
    /// The body is one field of the request message.
    Field(String),
}

impl BodyBinding {
    /// From the contract form: "" → None, "*" → Whole, else a field name.
    pub fn parse(value: &str) -> Self {
        match value {
            "" => Self::None,
            "*" => Self::Whole,
            field => Self::Field(field.to_string()),
        }
    }

    /// The contract (and stored) form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::None => "",
            Self::Whole => "*",
            Self::Field(field) => field,
        }
    }
}

/// The HTTP side of a capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpRoute {
    pub method: HttpMethod,
    /// e.g. `/v1/certificates/{id}` or `/v1/certificates:verify`.
    pub template: String,
    pub body: BodyBinding,
}

/// The backend side of a capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendMethod {
    /// Service name in discovery, e.g. `certificate`.
    pub service: String,
    /// Full gRPC path, e.g. `/zhongtai.certificate.v1.CertificateService/VerifyCertificate`.
    pub grpc_method: String,
}

/// Shedding priority under overload: Low is shed first, Critical last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CapabilityPriority {
    Low,
    Normal,
    Critical,
}

impl CapabilityPriority {
    pub const ALL: [Self; 3] = [Self::Low, Self::Normal, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::Critical => "critical",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Deadline of a backend call when the capability sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// One version of a capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub name: CapabilityName,
    /// e.g. `v1`; (name, version) is unique.
    pub version: String,
    pub title: String,
    pub description: String,
    pub http: HttpRoute,
    pub backend: BackendMethod,
    /// Deadline of one backend call, 1 ms..60 s.
    pub timeout: Duration,
    /// Failed calls may be retried on another instance (only allowed when
    /// the contract declares the method idempotent or read-only).
    pub idempotent: bool,
    pub priority: CapabilityPriority,
    pub published: bool,
    /// The request names a consent whose read limit and expiry apply.
    pub consent_required: bool,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Longest capability title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest capability description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest route template, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 500;
/// Shortest backend deadline.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Longest backend deadline.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_VERSION_CHARS: usize = 32;
const MAX_SERVICE_CHARS: usize = 63;

/// What the contracts say about a backend method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodContract {
    /// No such method in the contracts.
    Unknown,
    /// Declared; retrying it is safe (read-only or idempotent).
    Retryable,
    /// Declared with possible side effects.
    NotRetryable,
}

/// The number of a version such as `v12`, or why it is not one.
pub fn version_number(version: &str) -> Result<u64, String> {
    let digits = version.strip_prefix('v').unwrap_or("");
    if version.len() > MAX_VERSION_CHARS
        || digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "must be `v` and digits, at most {MAX_VERSION_CHARS} characters, got `{version}`"
        ));
    }
    // More digits than u64 holds still orders above every shorter number.
    Ok(digits.parse().unwrap_or(u64::MAX))
}

/// The highest published version among `versions` (compared by number:
/// v10 after v9).
pub fn highest_published(versions: &[Capability]) -> Option<&Capability> {
    versions
        .iter()
        .filter(|capability| capability.published)
        .max_by_key(|capability| version_number(&capability.version).unwrap_or(0))
}

/// Checks what a caller sets on a capability; `contract` is what the
/// contracts say about its backend method. Field names are as in the
/// request (`capability.http.route_template`, …).
pub fn check_capability(
    capability: &Capability,
    contract: MethodContract,
) -> Vec<(String, String)> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem =
        |field: &str, text: String| problems.push((format!("capability.{field}"), text));
    if let Err(text) = version_number(&capability.version) {
        problem("version", text);
    }
    let title_chars = capability.title.chars().count();
    if capability.title.trim().is_empty() {
        problem("title", "must not be empty".into());
    } else if title_chars > MAX_TITLE_CHARS {
        problem(
            "title",
            format!("must be at most {MAX_TITLE_CHARS} characters (got {title_chars})"),
        );
    }
    let description_chars = capability.description.chars().count();
    if description_chars > MAX_DESCRIPTION_CHARS {
        problem(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters (got {description_chars})"),
        );
    }
    if let Err(text) = check_template(&capability.http.template) {
        problem("http.route_template", text);
    }
    if let BodyBinding::Field(field) = &capability.http.body
        && !is_field_name(field)
    {
        problem(
            "http.body",
            format!("must be empty, `*` or a request field name, got `{field}`"),
        );
    }
    if !is_service_name(&capability.backend.service) {
        problem(
            "backend.service",
            format!(
                "must be a lowercase discovery name ([a-z][a-z0-9-]{{0,62}}), got `{}`",
                capability.backend.service
            ),
        );
    }
    match contract {
        MethodContract::Unknown => problem(
            "backend.grpc_method",
            format!(
                "`{}` is not a method of the contracts",
                capability.backend.grpc_method
            ),
        ),
        MethodContract::NotRetryable if capability.idempotent => problem(
            "idempotent",
            format!(
                "`{}` is not declared NO_SIDE_EFFECTS or IDEMPOTENT, so it must not be retried",
                capability.backend.grpc_method
            ),
        ),
        _ => {}
    }
    if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&capability.timeout) {
        problem(
            "timeout",
            format!(
                "must be 1 ms..60 s, got {} ms",
                capability.timeout.as_millis()
            ),
        );
    }
    problems
}

fn check_template(template: &str) -> Result<(), String> {
    let chars = template.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(format!(
            "must be at most {MAX_TEMPLATE_CHARS} characters (got {chars})"
        ));
    }
    let versioned = template
        .strip_prefix("/v")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(digits, _)| {
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        });
    if !versioned {
        return Err(format!(
            "must start with `/v` + a version number + `/`, e.g. /v1/certificates/{{id}}, got `{template}`"
        ));
    }
    if template
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        return Err("must not contain whitespace, `?` or `#`".into());
    }
    Ok(())
}

fn is_field_name(value: &str) -> bool {
    value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_service_name(value: &str) -> bool {
    (1..=MAX_SERVICE_CHARS).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Capability fields UpdateCapability may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityField {
    Title,
    Description,
    Http,
    Backend,
    Timeout,
    Idempotent,
    Priority,
    ConsentRequired,
}

impl CapabilityField {
    /// The field named by an update-mask path.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            "title" => Some(Self::Title),
            "description" => Some(Self::Description),
            "http" => Some(Self::Http),
            "backend" => Some(Self::Backend),
            "timeout" => Some(Self::Timeout),
            "idempotent" => Some(Self::Idempotent),
            "priority" => Some(Self::Priority),
            "consent_required" => Some(Self::ConsentRequired),
            _ => None,
        }
    }
}

/// `current` with the `fields` of `requested` applied, the revision moved
/// on and `now` as the change time.
pub fn apply_capability_update(
    current: &Capability,
    requested: &Capability,
    fields: &[CapabilityField],
    now: DateTime<Utc>,
) -> Capability {
    let mut next = current.clone();
    for field in fields {
        match field {
            CapabilityField::Title => next.title = requested.title.clone(),
            CapabilityField::Description => next.description = requested.description.clone(),
            CapabilityField::Http => next.http = requested.http.clone(),
            CapabilityField::Backend => next.backend = requested.backend.clone(),
            CapabilityField::Timeout => next.timeout = requested.timeout,
            CapabilityField::Idempotent => next.idempotent = requested.idempotent,
            CapabilityField::Priority => next.priority = requested.priority,
            CapabilityField::ConsentRequired => next.consent_required = requested.consent_required,
        }
    }
    next.revision = current.revision + 1;
    next.updated_at = now;
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capability() -> Capability {
        let now = Utc::now();
        Capability {
            name: CapabilityName::parse("certificate.verify").unwrap(),
            version: "v1".into(),
            title: "Verify a certificate".into(),
            description: String::new(),
            http: HttpRoute {
                method: HttpMethod::Post,
                template: "/v1/certificates:verify".into(),
                body: BodyBinding::Whole,
            },
            backend: BackendMethod {
                service: "certificate".into(),
                grpc_method: "/zhongtai.certificate.v1.CertificateService/VerifyCertificate".into(),
            },
            timeout: DEFAULT_TIMEOUT,
            idempotent: true,
            priority: CapabilityPriority::Critical,
            published: false,
            consent_required: false,
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn fields(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(field, _)| field.as_str()).collect()
    }

    #[test]
    fn a_good_capability_passes() {
        assert!(check_capability(&capability(), MethodContract::Retryable).is_empty());
    }

    #[test]
    fn each_bad_field_is_named() {
        let mut bad = capability();
        bad.version = "1".into();
        bad.title = String::new();
        bad.description = "x".repeat(4001);
        bad.http.template = "/certificates".into();
        bad.http.body = BodyBinding::Field("Bad Field".into());
        bad.backend.service = "Certificate".into();
        bad.timeout = Duration::from_secs(61);
        assert_eq!(
            fields(&check_capability(&bad, MethodContract::Retryable)),
            [
                "capability.version",
                "capability.title",
                "capability.description",
                "capability.http.route_template",
                "capability.http.body",
                "capability.backend.service",
                "capability.timeout"
            ]
        );
        assert_eq!(
            fields(&check_capability(&capability(), MethodContract::Unknown)),
            ["capability.backend.grpc_method"]
        );
        assert_eq!(
            fields(&check_capability(
                &capability(),
                MethodContract::NotRetryable
            )),
            ["capability.idempotent"]
        );
    }

    #[test]
    fn templates_need_a_version_segment() {
        for good in ["/v1/certificates/{id}", "/v12/x:verify"] {
            assert!(check_template(good).is_ok(), "{good}");
        }
        for bad in ["/v/x", "/va/x", "v1/x", "/v1", "/v1/x?y=1", "/v1/a b"] {
            assert!(check_template(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(version_number("v10"), Ok(10));
        assert!(version_number("v").is_err());
        assert!(version_number("V1").is_err());
        assert!(version_number(&format!("v{}", "1".repeat(32))).is_err());
        let mut versions = Vec::new();
        for (version, published) in [("v9", true), ("v10", true), ("v11", false)] {
            let mut c = capability();
            c.version = version.into();
            c.published = published;
            versions.push(c);
        }
        assert_eq!(
            highest_published(&versions).map(|c| c.version.as_str()),
            Some("v10")
        );
        assert!(highest_published(&versions[2..]).is_none());
    }

    #[test]
    fn accepts_dotted_lowercase_words() {
        for good in [
            "certificate.verify",
            "catalog.search_v2",
            "exchange.push-changes",
            "abc",
        ] {
            assert!(CapabilityName::parse(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn refuses_everything_else() {
        let too_long = "a".repeat(101);
        for bad in [
            "ab",
            "Certificate.verify",
            ".certificate",
            "certificate.",
            "certificate..verify",
            "certificate.1verify",
            "certificate verify",
            "catalog.%",
            "\"catalog\"",
            too_long.as_str(),
        ] {
            assert!(CapabilityName::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
