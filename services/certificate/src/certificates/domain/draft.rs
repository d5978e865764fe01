//! Issuing: a request checked against its certificate type, then signed
//! once the store has given it a serial number and a status entry.

use chrono::{DateTime, Datelike, Duration, Utc};
use uuid::Uuid;
use zhongtai_credential::{
    CERTIFICATE_TYP, CertificatePayload, Claim, ClaimValue, Holder, StatusRef, claims_to_json,
    issuer_uri, sign_compact,
};
use zhongtai_kit::TenantId;

use crate::shared::{
    CertificateError, CertificateRecord, CertificateStatus, CertificateType, IssuerSigner,
    StatusEntry,
};

/// Largest claim set, as the JSON object the token carries.
pub const MAX_CLAIMS_JSON_BYTES: usize = 8 * 1024;
/// Longest validity a certificate may be given.
pub const MAX_VALIDITY: Duration = Duration::days(100 * 366);

/// What an issuer asks to be issued (already shape-checked by the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub request_id: String,
    pub certificate_type: String,
    pub issuer_id: Uuid,
    pub holder: Holder,
    pub claims: Vec<Claim>,
    /// `None`: from now.
    pub valid_from: Option<DateTime<Utc>>,
    /// `None`: the type's default validity.
    pub validity: Option<Duration>,
    pub application_id: Option<Uuid>,
}

/// An issue request that fits its type: a certificate but for its serial
/// number, status entry and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: Uuid,
    pub request_id: String,
    pub certificate_type: String,
    pub issuer_id: Uuid,
    pub holder: Holder,
    /// In the order the type declares them.
    pub claims: Vec<Claim>,
    pub issued_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub application_id: Option<Uuid>,
}

/// Checks `request` against its type. Times are kept to whole seconds, as
/// the token carries them, so record and token agree.
pub fn prepare(
    request: &IssueRequest,
    certificate_type: &CertificateType,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Draft, CertificateError> {
    let mut violations = Vec::new();
    if !certificate_type.holder_kind.admits(&request.holder) {
        violations.push((
            "holder".to_string(),
            format!(
                "certificates of type {} are issued to a holder of kind {}",
                certificate_type.code,
                certificate_type.holder_kind.as_str()
            ),
        ));
    }
    let claims = match check_claims(certificate_type, &request.claims) {
        Ok(claims) => claims,
        Err(problems) => {
            violations.extend(problems);
            Vec::new()
        }
    };
    let issued_at = whole_seconds(now);
    let valid_from = whole_seconds(request.valid_from.unwrap_or(now));
    let validity = request.validity.or(certificate_type.default_validity);
    let valid_until = match validity {
        None => None,
        Some(validity) if validity <= Duration::zero() => {
            violations.push(("validity".into(), "must be longer than zero".into()));
            None
        }
        Some(validity) if validity > MAX_VALIDITY => {
            violations.push((
                "validity".into(),
                format!("must be at most {} days", MAX_VALIDITY.num_days()),
            ));
            None
        }
        Some(validity) => match valid_from.checked_add_signed(validity) {
            Some(until) => Some(whole_seconds(until)),
            None => {
                violations.push(("validity".into(), "ends beyond the calendar's range".into()));
                None
            }
        },
    };
    if !violations.is_empty() {
        return Err(CertificateError::Invalid(violations));
    }
    Ok(Draft {
        id,
        request_id: request.request_id.clone(),
        certificate_type: certificate_type.code.clone(),
        issuer_id: request.issuer_id,
        holder: request.holder.clone(),
        claims,
        issued_at,
        valid_from,
        valid_until,
        application_id: request.application_id,
    })
}

/// The claims in the type's order, or one `(field, problem)` per problem:
/// names the type does not declare, names given twice, values of another
/// kind or malformed, required claims missing, too large a claim set.
pub fn check_claims(
    certificate_type: &CertificateType,
    claims: &[Claim],
) -> Result<Vec<Claim>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let Some(definition) = certificate_type.claim(&claim.name) else {
            problems.push((
                format!("claims[{i}].name"),
                format!(
                    "{:?} is not a claim of certificate type {}",
                    claim.name, certificate_type.code
                ),
            ));
            continue;
        };
        if claims[..i].iter().any(|earlier| earlier.name == claim.name) {
            problems.push((
                format!("claims[{i}].name"),
                format!("{:?} is given more than once", claim.name),
            ));
            continue;
        }
        let kind = claim.value.kind();
        if kind != definition.kind {
            problems.push((
                format!("claims[{i}].value"),
                format!(
                    "claim {:?} is of type {}, not {kind}",
                    claim.name, definition.kind
                ),
            ));
            continue;
        }
        // Dates and decimals are text in the contract; their shape is
        // checked by reading them back as their kind.
        if let Err(error) = ClaimValue::parse(kind, &claim.name, &claim.value.to_text()) {
            problems.push((format!("claims[{i}].value"), error.to_string()));
        }
    }
    for definition in certificate_type.claims.iter().filter(|d| d.required) {
        if !claims.iter().any(|claim| claim.name == definition.name) {
            problems.push((
                "claims".into(),
                format!("the required claim {:?} is missing", definition.name),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let ordered: Vec<Claim> = certificate_type
        .claims
        .iter()
        .filter_map(|definition| claims.iter().find(|claim| claim.name == definition.name))
        .cloned()
        .collect();
    let encoded = serde_json::Value::Object(claims_to_json(&ordered)).to_string();
    if encoded.len() > MAX_CLAIMS_JSON_BYTES {
        return Err(vec![(
            "claims".into(),
            format!(
                "must be at most {MAX_CLAIMS_JSON_BYTES} bytes as JSON (got {})",
                encoded.len()
            ),
        )]);
    }
    Ok(ordered)
}

impl Draft {
    /// The token's claim set.
    pub fn payload(&self, serial_number: &str, entry: &StatusEntry) -> CertificatePayload {
        CertificatePayload {
            iss: issuer_uri(&self.issuer_id.to_string()),
            sub: self.holder.key(),
            jti: self.id.to_string(),
            iat: self.issued_at.timestamp(),
            nbf: self.valid_from.timestamp(),
            exp: self.valid_until.map(|until| until.timestamp()),
            vct: self.certificate_type.clone(),
            sn: serial_number.to_string(),
            holder: self.holder.clone(),
            claims: claims_to_json(&self.claims),
            status: StatusRef {
                list: entry.group.clone(),
                idx: entry.index,
            },
        }
    }

    /// The certificate, signed with the issuer's active key.
    pub fn sign(
        &self,
        signer: &IssuerSigner,
        serial_number: String,
        entry: StatusEntry,
    ) -> CertificateRecord {
        let token = sign_compact(
            &signer.key,
            CERTIFICATE_TYP,
            &self.payload(&serial_number, &entry),
        );
        CertificateRecord {
            id: self.id,
            serial_number,
            certificate_type: self.certificate_type.clone(),
            issuer_id: self.issuer_id,
            issuer_tenant: signer.issuer_tenant.clone(),
            key_id: signer.key.key_id().to_string(),
            holder: self.holder.clone(),
            claims: self.claims.clone(),
            issued_at: self.issued_at,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            status: CertificateStatus::Valid,
            status_reason: String::new(),
            status_entry: entry,
            token,
            application_id: self.application_id,
            version: 1,
            updated_at: self.issued_at,
        }
    }
}

/// A serial number as printed on the certificate: the year of issue and
/// eight digits, e.g. `2026-04839201`.
pub fn serial_number(issued_at: DateTime<Utc>, random: u64) -> String {
    format!("{}-{:08}", issued_at.year(), random % 100_000_000)
}

/// Whether `existing` (found under the same request id) answers `request`
/// from `tenant`: the same issuer's tenant, type, issuer, holder, claims and
/// application. Times are not compared: "from now" differs on every retry.
pub fn same_request(
    existing: &CertificateRecord,
    request: &IssueRequest,
    tenant: &TenantId,
) -> bool {
    let mut claims = request.claims.clone();
    claims.sort_by(|a, b| a.name.cmp(&b.name));
    let mut stored = existing.claims.clone();
    stored.sort_by(|a, b| a.name.cmp(&b.name));
    existing.issuer_tenant == *tenant
        && existing.certificate_type == request.certificate_type
        && existing.issuer_id == request.issuer_id
        && existing.holder == request.holder
        && existing.application_id == request.application_id
        && stored == claims
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use zhongtai_credential::{
        CompactJws, IdDocumentType, Outcome, SigningKey, TrustStore, TrustedKey, verify_certificate,
    };

    use super::*;
    use crate::shared::{ClaimDefinition, HolderKind};
    use zhongtai_credential::ClaimKind;

    fn licence_type() -> CertificateType {
        let claim = |name: &str, kind, required| ClaimDefinition {
            name: name.into(),
            title: name.into(),
            kind,
            required,
            include_in_code: false,
        };
        CertificateType {
            code: "business-licence".into(),
            name: "营业执照".into(),
            description: String::new(),
            claims: vec![
                claim("company_name", ClaimKind::String, true),
                claim("registered_capital", ClaimKind::Decimal, false),
                claim("established_on", ClaimKind::Date, false),
                claim("employees", ClaimKind::Integer, false),
            ],
            holder_kind: HolderKind::Organization,
            default_validity: Some(Duration::days(3650)),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn company() -> Holder {
        Holder::Organization {
            name: "丽水青瓷有限公司".into(),
            unified_social_credit_code: "91331100MA2A0B1C2D".into(),
        }
    }

    fn claim(name: &str, value: ClaimValue) -> Claim {
        Claim {
            name: name.into(),
            value,
        }
    }

    fn request(claims: Vec<Claim>) -> IssueRequest {
        IssueRequest {
            request_id: "r-1".into(),
            certificate_type: "business-licence".into(),
            issuer_id: Uuid::now_v7(),
            holder: company(),
            claims,
            valid_from: None,
            validity: None,
            application_id: None,
        }
    }

    fn fields(error: CertificateError) -> Vec<String> {
        match error {
            CertificateError::Invalid(violations) => {
                violations.into_iter().map(|(field, _)| field).collect()
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn claims_come_back_in_the_types_order_with_the_default_validity() {
        let now = Utc::now();
        let draft = prepare(
            &request(vec![
                claim("registered_capital", ClaimValue::Decimal("100.50".into())),
                claim("company_name", ClaimValue::String("青瓷".into())),
            ]),
            &licence_type(),
            Uuid::now_v7(),
            now,
        )
        .unwrap();
        let names: Vec<&str> = draft.claims.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["company_name", "registered_capital"]);
        assert_eq!(draft.valid_from.timestamp(), now.timestamp());
        assert_eq!(draft.valid_from.timestamp_subsec_nanos(), 0);
        assert_eq!(
            draft.valid_until,
            Some(draft.valid_from + Duration::days(3650))
        );
    }

    #[test]
    fn every_claim_problem_names_its_field() {
        let bad = request(vec![
            claim("colour", ClaimValue::String("red".into())),
            claim("established_on", ClaimValue::Date("2026-02-30".into())),
            claim("registered_capital", ClaimValue::String("100".into())),
            claim("employees", ClaimValue::Integer(3)),
            claim("employees", ClaimValue::Integer(4)),
            claim("registered_capital", ClaimValue::Decimal("1,000".into())),
        ]);
        let error = prepare(&bad, &licence_type(), Uuid::now_v7(), Utc::now()).unwrap_err();
        assert_eq!(
            fields(error),
            [
                "claims[0].name",
                "claims[1].value",
                "claims[2].value",
                "claims[4].name",
                "claims[5].name",
                "claims"
            ]
        );
    }

    #[test]
    fn holder_kind_validity_and_size_are_checked() {
        let mut wrong = request(vec![claim("company_name", ClaimValue::String("x".into()))]);
        wrong.holder = Holder::Person {
            name: "张三".into(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: "33110019900101123X".into(),
        };
        wrong.validity = Some(Duration::zero());
        let error = prepare(&wrong, &licence_type(), Uuid::now_v7(), Utc::now()).unwrap_err();
        assert_eq!(fields(error), ["holder", "validity"]);

        let mut long = request(vec![claim("company_name", ClaimValue::String("x".into()))]);
        long.validity = Some(MAX_VALIDITY + Duration::days(1));
        assert!(prepare(&long, &licence_type(), Uuid::now_v7(), Utc::now()).is_err());

        let huge = request(vec![claim(
            "company_name",
            ClaimValue::String("青".repeat(3000)),
        )]);
        let error = prepare(&huge, &licence_type(), Uuid::now_v7(), Utc::now()).unwrap_err();
        assert_eq!(fields(error), ["claims"]);
    }

    #[test]
    fn the_signed_token_verifies_and_carries_the_record() {
        let (key, _) = SigningKey::generate("k-1").unwrap();
        let signer = IssuerSigner {
            issuer_id: Uuid::now_v7(),
            issuer_tenant: TenantId::from_key("331100/market-regulation").unwrap(),
            key: Arc::new(key),
        };
        let mut asked = request(vec![claim(
            "company_name",
            ClaimValue::String("青瓷".into()),
        )]);
        asked.issuer_id = signer.issuer_id;
        let draft = prepare(&asked, &licence_type(), Uuid::now_v7(), Utc::now()).unwrap();
        let entry = StatusEntry {
            group: "1".into(),
            index: 4711,
        };
        let record = draft.sign(&signer, "2026-00000042".into(), entry);
        let trust = TrustStore::new(
            3,
            vec![TrustedKey {
                key_id: "k-1".into(),
                issuer_id: signer.issuer_id.to_string(),
                public_key: signer.key.public_key(),
                certificate_types: vec!["business-licence".into()],
                verify_until: None,
            }],
            Vec::new(),
        );
        let check = verify_certificate(&record.token, &trust, Utc::now()).unwrap();
        assert_eq!(check.outcome, Outcome::Valid, "{}", check.detail);
        let payload = check.payload.unwrap();
        assert_eq!(payload.jti, record.id.to_string());
        assert_eq!(payload.sub, company().key());
        assert_eq!(payload.sn, "2026-00000042");
        assert_eq!(payload.status.idx, 4711);
        assert_eq!(payload.exp, record.valid_until.map(|t| t.timestamp()));
        assert_eq!(
            CompactJws::parse(&record.token).unwrap().header().kid,
            record.key_id
        );
        assert!(same_request(&record, &asked, &signer.issuer_tenant));
        let mut other = asked.clone();
        other.claims[0].value = ClaimValue::String("别的".into());
        assert!(!same_request(&record, &other, &signer.issuer_tenant));
    }

    #[test]
    fn serial_numbers_are_year_and_eight_digits() {
        let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        assert_eq!(serial_number(at, 42), "2026-00000042");
        assert_eq!(serial_number(at, 1_234_567_891), "2026-34567891");
    }
}
