//! Integrator apps: outside systems that call capabilities through the
//! gateway.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::{Caller, Role, TenantId, TenantScope};

use super::capability::CapabilityName;

/// Whether an app may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    Active,
    /// Every call is refused; credentials are kept.
    Disabled,
}

impl AppState {
    pub const ALL: [Self; 2] = [Self::Active, Self::Disabled];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Inverse of [`AppState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// The organisation that owns an app.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Owner {
    pub name: String,
    /// Unified social credit code (18 characters), or empty.
    pub unified_social_credit_code: String,
}

/// How to reach an app's owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub phone: String,
}

/// A registered integrator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub owner: Owner,
    pub contact: Contact,
    pub state: AppState,
    /// Why it was disabled (empty while active).
    pub disabled_reason: String,
    /// Capabilities the app may call, every version of each.
    pub allowed_capabilities: Vec<CapabilityName>,
    /// The tenant sponsoring the app on the platform.
    pub sponsor: TenantId,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Longest app name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most capability names one app may be allowed.
pub const MAX_ALLOWED_CAPABILITIES: usize = 500;
/// Longest contact field or owner name, in characters.
pub const MAX_CONTACT_CHARS: usize = 200;
/// Longest disable reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest client idempotency key, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// Length of a unified social credit code.
const CREDIT_CODE_LEN: usize = 18;

/// The apps a caller reaches: every tenant's (platform admins) or a tenant
/// scope's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppScope {
    /// Every app on the platform.
    Everything,
    /// Apps sponsored by tenants within the scope.
    Within(TenantScope),
}

impl AppScope {
    /// Whether an app sponsored by `tenant` is inside the scope.
    pub fn permits(&self, tenant: &TenantId) -> bool {
        match self {
            Self::Everything => true,
            Self::Within(scope) => scope.permits(tenant),
        }
    }
}

/// Who manages what on the admin plane: the platform operator's admins
/// manage everything, other tenants' admins the apps they sponsor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccess {
    /// `None` when the configured tenant does not parse: then nobody is a
    /// platform admin, rather than everybody.
    platform_tenant: Option<TenantId>,
}

impl AdminAccess {
    /// Access rules with `platform_tenant` as the operator's tenant.
    pub fn new(platform_tenant: TenantId) -> Self {
        Self {
            platform_tenant: Some(platform_tenant),
        }
    }

    /// Access rules for the configured platform tenant.
    pub fn from_config(config: &zhongtai_kit::config::GatewayConfig) -> Self {
        Self {
            platform_tenant: config.platform_tenant().ok(),
        }
    }

    /// Whether `caller` administers the whole platform.
    pub fn is_platform_admin(&self, caller: &Caller) -> bool {
        self.platform_tenant.as_ref() == Some(&caller.tenant) && caller.has_role(Role::Admin)
    }

    /// Apps `caller` may see.
    pub fn read_scope(&self, caller: &Caller) -> AppScope {
        if self.is_platform_admin(caller) {
            AppScope::Everything
        } else {
            AppScope::Within(caller.read_scope())
        }
    }

    /// Apps `caller` may change.
    pub fn write_scope(&self, caller: &Caller) -> AppScope {
        if self.is_platform_admin(caller) {
            AppScope::Everything
        } else {
            AppScope::Within(caller.write_scope())
        }
    }
}

/// Checks a client idempotency key.
pub fn check_request_id(field: &str, value: &str) -> Vec<(String, String)> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        vec![(field.into(), "must not be empty".into())]
    } else if chars > MAX_REQUEST_ID_CHARS {
        vec![(
            field.into(),
            format!("must be at most {MAX_REQUEST_ID_CHARS} characters (got {chars})"),
        )]
    } else {
        Vec::new()
    }
}

/// Checks the fields of an app a caller sets (name, owner, contact), with
/// field names under `prefix` (e.g. `app.`).
pub fn check_app_fields(prefix: &str, app: &App) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut bounded = |field: &str, value: &str, required: bool, max_chars: usize| {
        let chars = value.chars().count();
        if required && value.trim().is_empty() {
            problems.push((format!("{prefix}{field}"), "must not be empty".into()));
        } else if chars > max_chars {
            problems.push((
                format!("{prefix}{field}"),
                format!("must be at most {max_chars} characters (got {chars})"),
            ));
        }
    };
    bounded("name", &app.name, true, MAX_NAME_CHARS);
    bounded("owner.name", &app.owner.name, true, MAX_CONTACT_CHARS);
    bounded("contact.name", &app.contact.name, false, MAX_CONTACT_CHARS);
    bounded(
        "contact.email",
        &app.contact.email,
        false,
        MAX_CONTACT_CHARS,
    );
    bounded(
        "contact.phone",
        &app.contact.phone,
        false,
        MAX_CONTACT_CHARS,
    );
    let code = &app.owner.unified_social_credit_code;
    if !code.is_empty()
        && (code.len() != CREDIT_CODE_LEN || !code.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        problems.push((
            format!("{prefix}owner.unified_social_credit_code"),
            format!("must be {CREDIT_CODE_LEN} letters or digits, or empty"),
        ));
    }
    let email = &app.contact.email;
    if !email.is_empty() && !looks_like_email(email) {
        problems.push((
            format!("{prefix}contact.email"),
            format!("`{email}` is not an e-mail address"),
        ));
    }
    problems
}

fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Parses allowed capability names: each valid, no duplicates, at most
/// [`MAX_ALLOWED_CAPABILITIES`].
pub fn parse_allowed_capabilities(
    field: &str,
    names: &[String],
) -> Result<Vec<CapabilityName>, Vec<(String, String)>> {
    if names.len() > MAX_ALLOWED_CAPABILITIES {
        return Err(vec![(
            field.into(),
            format!(
                "must have at most {MAX_ALLOWED_CAPABILITIES} items (got {})",
                names.len()
            ),
        )]);
    }
    let mut problems = Vec::new();
    let mut parsed: Vec<CapabilityName> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        match CapabilityName::parse(name) {
            Ok(name) if parsed.contains(&name) => {
                problems.push((format!("{field}[{index}]"), format!("repeats `{name}`")));
            }
            Ok(name) => parsed.push(name),
            Err(problem) => problems.push((format!("{field}[{index}]"), problem)),
        }
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

/// App fields UpdateApp may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppField {
    Name,
    Owner,
    Contact,
    AllowedCapabilities,
    Sponsor,
}

impl AppField {
    /// The field named by an update-mask path.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            "name" => Some(Self::Name),
            "owner" => Some(Self::Owner),
            "contact" => Some(Self::Contact),
            "allowed_capabilities" => Some(Self::AllowedCapabilities),
            "sponsor" => Some(Self::Sponsor),
            _ => None,
        }
    }
}

/// `current` with the `fields` of `requested` applied, the version moved
/// on and `now` as the change time.
pub fn apply_app_update(
    current: &App,
    requested: &App,
    fields: &[AppField],
    now: DateTime<Utc>,
) -> App {
    let mut next = current.clone();
    for field in fields {
        match field {
            AppField::Name => next.name = requested.name.clone(),
            AppField::Owner => next.owner = requested.owner.clone(),
            AppField::Contact => next.contact = requested.contact.clone(),
            AppField::AllowedCapabilities => {
                next.allowed_capabilities = requested.allowed_capabilities.clone();
            }
            AppField::Sponsor => next.sponsor = requested.sponsor.clone(),
        }
    }
    next.version = current.version + 1;
    next.updated_at = now;
    next
}

/// `current` disabled for `reason`, or the problems with the reason.
pub fn disable(
    current: &App,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<App, Vec<(String, String)>> {
    let chars = reason.chars().count();
    if reason.trim().is_empty() {
        return Err(vec![("reason".into(), "must not be empty".into())]);
    }
    if chars > MAX_REASON_CHARS {
        return Err(vec![(
            "reason".into(),
            format!("must be at most {MAX_REASON_CHARS} characters (got {chars})"),
        )]);
    }
    let mut next = current.clone();
    next.state = AppState::Disabled;
    next.disabled_reason = reason.trim().to_string();
    next.version = current.version + 1;
    next.updated_at = now;
    Ok(next)
}

/// `current` active again.
pub fn enable(current: &App, now: DateTime<Utc>) -> App {
    let mut next = current.clone();
    next.state = AppState::Active;
    next.disabled_reason.clear();
    next.version = current.version + 1;
    next.updated_at = now;
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let now = Utc::now();
        App {
            id: Uuid::nil(),
            name: "浙里办".into(),
            owner: Owner {
                name: "浙江省大数据局".into(),
                unified_social_credit_code: String::new(),
            },
            contact: Contact::default(),
            state: AppState::Active,
            disabled_reason: String::new(),
            allowed_capabilities: Vec::new(),
            sponsor: TenantId::from_key("331100/housing-fund").unwrap(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn fields(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(field, _)| field.as_str()).collect()
    }

    #[test]
    fn platform_admins_reach_everything_others_their_tenant() {
        let platform = TenantId::from_key("330000/big-data-bureau").unwrap();
        let city = TenantId::from_key("331100/housing-fund").unwrap();
        let access = AdminAccess::new(platform.clone());
        let operator = Caller::new("op", platform.clone(), &[Role::Admin]);
        let platform_viewer = Caller::new("v", platform, &[Role::Viewer]);
        let city_admin = Caller::new("c", city.clone(), &[Role::Admin]);
        assert_eq!(access.write_scope(&operator), AppScope::Everything);
        assert!(!access.is_platform_admin(&platform_viewer));
        let scope = access.write_scope(&city_admin);
        assert!(scope.permits(&city));
        assert!(!scope.permits(&TenantId::from_key("330100/housing-fund").unwrap()));
    }

    #[test]
    fn app_fields_are_bounded() {
        assert!(check_app_fields("", &app()).is_empty());
        let mut bad = app();
        bad.name = " ".into();
        bad.owner.name = "x".repeat(201);
        bad.owner.unified_social_credit_code = "123".into();
        bad.contact.email = "not-an-address".into();
        assert_eq!(
            fields(&check_app_fields("app.", &bad)),
            [
                "app.name",
                "app.owner.name",
                "app.owner.unified_social_credit_code",
                "app.contact.email"
            ]
        );
    }

    #[test]
    fn allowed_capabilities_are_parsed_and_deduplicated() {
        let names = [
            "certificate.verify".to_string(),
            "Bad".into(),
            "certificate.verify".into(),
        ];
        let problems = parse_allowed_capabilities("allowed_capabilities", &names).unwrap_err();
        assert_eq!(
            fields(&problems),
            ["allowed_capabilities[1]", "allowed_capabilities[2]"]
        );
        let many = vec!["abc".to_string(); MAX_ALLOWED_CAPABILITIES + 1];
        assert!(parse_allowed_capabilities("a", &many).is_err());
    }

    #[test]
    fn updates_apply_only_masked_fields_and_move_the_version() {
        let current = app();
        let mut requested = app();
        requested.name = "new".into();
        requested.contact.name = "ignored".into();
        let next = apply_app_update(&current, &requested, &[AppField::Name], Utc::now());
        assert_eq!(next.name, "new");
        assert_eq!(next.contact, current.contact);
        assert_eq!(next.version, 2);
    }

    #[test]
    fn disabling_needs_a_reason() {
        assert!(disable(&app(), "  ", Utc::now()).is_err());
        let disabled = disable(&app(), "leaked key", Utc::now()).unwrap();
        assert_eq!(disabled.state, AppState::Disabled);
        let enabled = enable(&disabled, Utc::now());
        assert_eq!(
            (enabled.state, enabled.disabled_reason.as_str()),
            (AppState::Active, "")
        );
        assert_eq!(enabled.version, 3);
    }

    #[test]
    fn request_ids_are_bounded() {
        assert!(check_request_id("request_id", "r-1").is_empty());
        assert_eq!(check_request_id("request_id", "").len(), 1);
        assert_eq!(check_request_id("request_id", &"r".repeat(129)).len(), 1);
    }

    #[test]
    fn state_names_round_trip() {
        for state in AppState::ALL {
            assert_eq!(AppState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(AppState::Disabled.as_str(), "disabled");
        assert_eq!(AppState::from_name("enabled"), None);
    }
}
