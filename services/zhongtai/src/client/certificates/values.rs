//! Values the certificate, code and consent commands take on the command
//! line: holders (`丽水青瓷文化有限公司:91331100MA2HK7Q34E`, `叶青:330102199001011234`),
//! claims converted to the types a certificate type declares, lengths of
//! validity (`365d`), and presentations given as text, a file or stdin.
//! Each parser's error says what a valid value looks like.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use prost_types::Duration;
use zhongtai_contracts::certificate::v1::{self as pb, ClaimType, claim};
use zhongtai_contracts::common::v1::{Holder, IdDocumentType, Organization, Person, holder};
use zhongtai_credential::{ClaimKind, ClaimValue, MAX_TOKEN_BYTES};

/// `NAME:IDNUMBER` (a resident identity card) or `NAME:ID-TYPE:NUMBER`
/// with ID-TYPE one of resident-id-card, passport, mainland-travel-permit,
/// foreign-permanent-resident-card.
pub fn person(value: &str) -> Result<Person, String> {
    let shape = || {
        format!(
            "`{value}`: expected NAME:IDNUMBER (a resident identity card), \
             e.g. 王芳:330102199001011234, or NAME:ID-TYPE:NUMBER, e.g. \
             Anna Berg:passport:E12345678"
        )
    };
    let parts: Vec<&str> = value.split(':').map(str::trim).collect();
    let (name, id_type, number) = match parts.as_slice() {
        [name, number] => (*name, IdDocumentType::ResidentIdCard, *number),
        [name, kind, number] => (*name, id_document_type(kind)?, *number),
        _ => return Err(shape()),
    };
    if name.is_empty() || number.is_empty() {
        return Err(shape());
    }
    Ok(Person {
        name: name.to_string(),
        id_type: id_type as i32,
        id_number: number.to_string(),
    })
}

/// A person given by `--name`, `--id-number` and `--id-type`.
pub fn person_of(name: &str, id_number: &str, id_type: &str) -> Result<Person, String> {
    if name.trim().is_empty() || id_number.trim().is_empty() {
        return Err("--name and --id-number must not be empty".into());
    }
    Ok(Person {
        name: name.trim().to_string(),
        id_type: id_document_type(id_type)? as i32,
        id_number: id_number.trim().to_string(),
    })
}

fn id_document_type(name: &str) -> Result<IdDocumentType, String> {
    let known = zhongtai_credential::IdDocumentType::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = zhongtai_credential::IdDocumentType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        format!(
            "`{name}` is not an identity document type: use {}",
            names.join(", ")
        )
    })?;
    Ok(match known {
        zhongtai_credential::IdDocumentType::ResidentIdCard => IdDocumentType::ResidentIdCard,
        zhongtai_credential::IdDocumentType::Passport => IdDocumentType::Passport,
        zhongtai_credential::IdDocumentType::MainlandTravelPermit => {
            IdDocumentType::MainlandTravelPermit
        }
        zhongtai_credential::IdDocumentType::ForeignPermanentResidentCard => {
            IdDocumentType::ForeignPermanentResidentCard
        }
    })
}

/// `NAME:CREDITCODE`, the registered name and the 18-character unified
/// social credit code.
pub fn organization(value: &str) -> Result<Organization, String> {
    let Some((name, code)) = value.rsplit_once(':') else {
        return Err(format!(
            "`{value}`: expected NAME:CREDITCODE, e.g. 丽水青瓷文化有限公司:91331100MA2HK7Q34E"
        ));
    };
    let (name, code) = (name.trim(), code.trim());
    if name.is_empty() {
        return Err(format!("`{value}`: the organisation's name is missing"));
    }
    if code.chars().count() != 18 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "`{code}` is not a unified social credit code (18 letters and digits)"
        ));
    }
    Ok(Organization {
        name: name.to_string(),
        unified_social_credit_code: code.to_string(),
    })
}

pub fn person_holder(person: Person) -> Holder {
    Holder {
        holder: Some(holder::Holder::Person(person)),
    }
}

pub fn organization_holder(organization: Organization) -> Holder {
    Holder {
        holder: Some(holder::Holder::Organization(organization)),
    }
}

/// `name=value`: one claim of `--claim`, converted later to the type the
/// certificate type declares for it.
pub fn claim_assignment(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((name, text)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), text.to_string()))
        }
        _ => Err(format!(
            "`{value}`: expected NAME=VALUE, e.g. registered_capital=1000000.00"
        )),
    }
}

/// Claims given as `name=value`, typed as `certificate_type` declares them.
/// The error names the claim and what its values look like.
pub fn typed_claims(
    certificate_type: &pb::CertificateType,
    assignments: &[(String, String)],
) -> anyhow::Result<Vec<pb::Claim>> {
    let mut claims: Vec<pb::Claim> = Vec::with_capacity(assignments.len());
    for (name, text) in assignments {
        let Some(definition) = certificate_type.claims.iter().find(|c| c.name == *name) else {
            let known: Vec<&str> = certificate_type
                .claims
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            bail!(
                "--claim {name}={text}: certificate type {} has no claim {name}; its claims are {}",
                certificate_type.code,
                known.join(", ")
            );
        };
        if claims.iter().any(|c| c.name == *name) {
            bail!("--claim {name} is given twice");
        }
        let kind =
            claim_kind(definition.r#type()).with_context(|| format!("--claim {name}={text}"))?;
        let value = ClaimValue::parse(kind, name, text)
            .map_err(|e| anyhow::anyhow!("--claim {name}={text}: {e}"))?;
        claims.push(pb::Claim {
            name: name.clone(),
            value: Some(claim_value(value)),
        });
    }
    Ok(claims)
}

fn claim_kind(declared: ClaimType) -> anyhow::Result<ClaimKind> {
    Ok(match declared {
        ClaimType::String => ClaimKind::String,
        ClaimType::Integer => ClaimKind::Integer,
        ClaimType::Boolean => ClaimKind::Boolean,
        ClaimType::Date => ClaimKind::Date,
        ClaimType::Decimal => ClaimKind::Decimal,
        ClaimType::Unspecified => bail!("the certificate type declares no type for this claim"),
    })
}

fn claim_value(value: ClaimValue) -> claim::Value {
    match value {
        ClaimValue::String(text) => claim::Value::StringValue(text),
        ClaimValue::Integer(n) => claim::Value::IntValue(n),
        ClaimValue::Boolean(b) => claim::Value::BoolValue(b),
        ClaimValue::Date(text) => claim::Value::DateValue(text),
        ClaimValue::Decimal(text) => claim::Value::DecimalValue(text),
    }
}

/// A length of time: `365d`, `36h`, `90m` or `45s`.
pub fn validity(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let invalid = || format!("`{value}` is not a length of time like 365d, 36h, 90m or 45s");
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let unit_seconds = match unit {
        "d" => 86_400,
        "h" => 3600,
        "m" => 60,
        "s" => 1,
        _ => return Err(invalid()),
    };
    let seconds = number
        .checked_mul(unit_seconds)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("`{value}` must be more than nothing and less than forever"))?;
    Ok(Duration { seconds, nanos: 0 })
}

/// Now plus `days` days.
pub fn days_from_now(days: u32) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + i64::from(days) * 86_400,
        nanos: 0,
    }
}

/// What a presentation argument holds: `-` reads stdin, a path to a file
/// reads the file, anything else is the token or QR payload itself.
pub fn presentation(input: &str) -> anyhow::Result<String> {
    // A token of the largest size, in a QR payload, with room for a newline.
    let limit = u64::try_from(MAX_TOKEN_BYTES * 2).unwrap_or(u64::MAX);
    let text = if input == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(limit + 1)
            .read_to_string(&mut text)
            .context("cannot read the presentation from stdin")?;
        text
    } else if Path::new(input).is_file() {
        let size = std::fs::metadata(input)
            .with_context(|| format!("cannot read {input}"))?
            .len();
        if size > limit {
            bail!("{input}: {size} bytes is more than a token or QR payload can be");
        }
        std::fs::read_to_string(input).with_context(|| format!("cannot read {input}"))?
    } else {
        input.to_string()
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        bail!("nothing to verify: give a token, a ZT1: QR payload, or a file holding one");
    }
    Ok(text)
}

/// Writes `bytes` to `path`, saying what failed.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_a_name_and_an_id_number() {
        let resident = person("王芳:330102199001011234").unwrap();
        assert_eq!(resident.name, "王芳");
        assert_eq!(resident.id_type(), IdDocumentType::ResidentIdCard);
        assert_eq!(resident.id_number, "330102199001011234");
        let traveller = person("Anna Berg:passport:E12345678").unwrap();
        assert_eq!(traveller.id_type(), IdDocumentType::Passport);
        assert!(person("王芳").unwrap_err().contains("NAME:IDNUMBER"));
        assert!(person(":330102199001011234").is_err());
        assert!(
            person("Anna:library-card:1")
                .unwrap_err()
                .contains("resident-id-card, passport")
        );
    }

    #[test]
    fn organisations_carry_a_credit_code() {
        let company = organization("丽水青瓷文化有限公司:91331100MA2HK7Q34E").unwrap();
        assert_eq!(company.name, "丽水青瓷文化有限公司");
        assert_eq!(company.unified_social_credit_code, "91331100MA2HK7Q34E");
        assert!(
            organization("丽水青瓷文化有限公司")
                .unwrap_err()
                .contains("NAME:CREDITCODE")
        );
        assert!(organization("x:123").unwrap_err().contains("18 letters"));
    }

    fn licence_type() -> pb::CertificateType {
        let definition = |name: &str, kind: ClaimType| pb::ClaimDefinition {
            name: name.into(),
            r#type: kind as i32,
            ..Default::default()
        };
        pb::CertificateType {
            code: "business-licence".into(),
            claims: vec![
                definition("company_name", ClaimType::String),
                definition("registered_capital", ClaimType::Decimal),
                definition("established_on", ClaimType::Date),
                definition("employees", ClaimType::Integer),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn claims_take_the_type_their_certificate_type_declares() {
        let given = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let claims = typed_claims(
            &licence_type(),
            &given(&[
                ("company_name", "丽水青瓷"),
                ("registered_capital", "1000000.00"),
                ("established_on", "2026-12-01"),
                ("employees", "12"),
            ]),
        )
        .unwrap();
        let values: Vec<_> = claims.into_iter().filter_map(|c| c.value).collect();
        assert_eq!(
            values,
            [
                claim::Value::StringValue("丽水青瓷".into()),
                claim::Value::DecimalValue("1000000.00".into()),
                claim::Value::DateValue("2026-12-01".into()),
                claim::Value::IntValue(12),
            ]
        );
        let error = typed_claims(&licence_type(), &given(&[("employees", "twelve")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("employees=twelve") && error.contains("integer"),
            "{error}"
        );
        let error = typed_claims(&licence_type(), &given(&[("capital", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no claim capital") && error.contains("registered_capital"),
            "{error}"
        );
        let error = typed_claims(&licence_type(), &given(&[("established_on", "01/12/2026")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("YYYY-MM-DD"), "{error}");
        assert!(
            typed_claims(
                &licence_type(),
                &given(&[("employees", "1"), ("employees", "2")])
            )
            .is_err()
        );
        assert!(claim_assignment("no-equals").is_err());
        assert_eq!(
            claim_assignment("note=a=b").unwrap(),
            ("note".into(), "a=b".into())
        );
    }

    #[test]
    fn validity_is_a_whole_number_of_units() {
        assert_eq!(validity("365d").unwrap().seconds, 365 * 86_400);
        assert_eq!(validity("36h").unwrap().seconds, 36 * 3600);
        assert_eq!(validity("45s").unwrap().seconds, 45);
        for bad in ["", "d", "10", "1y", "0d", "-1d", "99999999999999999d"] {
            assert!(validity(bad).is_err(), "{bad}");
        }
    }
}
