//! Consent-derived limits: a capability reading consented personal data
//! is forwarded only while the consent named in the request is in force for
//! the calling app — active, within its period, reads left. The certificate
//! center counts the reads; this check refuses early and plainly, and is
//! made on every call (no cache), so a revocation applies to the next one.

use chrono::{DateTime, Utc};
use http::HeaderValue;
use tonic::Code;
use uuid::Uuid;
use zhongtai_contracts::certificate::v1 as certificate;
use zhongtai_contracts::certificate::v1::consent_service_client::ConsentServiceClient;
use zhongtai_kit::Platform;

use super::refusal::Refusal;

/// Looks consents up as the app.
pub struct ConsentCheck {
    platform: Platform,
}

impl ConsentCheck {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    /// `Ok` when `consent_id` lets `app` read now.
    pub async fn check(
        &self,
        consent_id: &str,
        app: Uuid,
        authorization: HeaderValue,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if consent_id.is_empty() {
            return Err(Refusal::forbidden(
                "CONSENT_REQUIRED",
                "this capability reads consented data: name the consent in consent_id",
            ));
        }
        let mut request = tonic::Request::new(certificate::GetConsentRequest {
            id: consent_id.to_string(),
        });
        let authorization = authorization
            .to_str()
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| Refusal::internal("the app token is not a header value"))?;
        request
            .metadata_mut()
            .insert("authorization", authorization);
        let mut client = ConsentServiceClient::new(self.platform.channel("certificate"));
        let consent = match client.get_consent(request).await {
            Ok(response) => response.into_inner().consent.unwrap_or_default(),
            Err(status)
                if status.code() == Code::NotFound || status.code() == Code::PermissionDenied =>
            {
                return Err(Refusal::forbidden(
                    "CONSENT_REFUSED",
                    format!("consent {consent_id} does not exist for this app"),
                ));
            }
            Err(status) => {
                return Err(Refusal::backend(
                    "BACKEND_UNAVAILABLE",
                    format!("the consent could not be checked: {}", status.message()),
                    Some(std::time::Duration::from_secs(1)),
                ));
            }
        };
        refusal_of(&consent, app, now).map_or(Ok(()), Err)
    }
}

/// Why `consent` does not let `app` read at `now`, if it does not.
fn refusal_of(consent: &certificate::Consent, app: Uuid, now: DateTime<Utc>) -> Option<Refusal> {
    let refuse = |why: String| Some(Refusal::forbidden("CONSENT_REFUSED", why));
    if consent.app_id != app.to_string() {
        return refuse(format!("consent {} was not given to this app", consent.id));
    }
    let state = certificate::ConsentState::try_from(consent.state)
        .unwrap_or(certificate::ConsentState::Unspecified);
    if state != certificate::ConsentState::Active {
        return refuse(format!(
            "consent {} is {}",
            consent.id,
            state
                .as_str_name()
                .trim_start_matches("CONSENT_STATE_")
                .to_lowercase()
        ));
    }
    let ended = consent
        .period
        .as_ref()
        .and_then(|period| period.end_time.as_ref())
        .and_then(|end| DateTime::<Utc>::from_timestamp(end.seconds, end.nanos.max(0) as u32))
        .is_some_and(|end| end <= now);
    if ended {
        return refuse(format!("consent {} has expired", consent.id));
    }
    if consent.read_limit > 0 && consent.read_count >= consent.read_limit {
        return refuse(format!(
            "consent {} allows {} reads; all are used",
            consent.id, consent.read_limit
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(
        app: Uuid,
        state: certificate::ConsentState,
        reads: (i64, i64),
        ends_in: i64,
    ) -> certificate::Consent {
        let end = Utc::now() + chrono::Duration::seconds(ends_in);
        certificate::Consent {
            id: "c1".into(),
            app_id: app.to_string(),
            state: state as i32,
            read_count: reads.0,
            read_limit: reads.1,
            period: Some(zhongtai_contracts::common::v1::Period {
                start_time: None,
                end_time: Some(prost_types::Timestamp {
                    seconds: end.timestamp(),
                    nanos: 0,
                }),
            }),
            ..certificate::Consent::default()
        }
    }

    #[test]
    fn only_an_active_unexpired_consent_with_reads_left_lets_its_app_read() {
        let app = Uuid::new_v4();
        let now = Utc::now();
        use certificate::ConsentState::{Active, Pending, Revoked};
        assert!(refusal_of(&consent(app, Active, (1, 3), 60), app, now).is_none());
        for (case, refused) in [
            ("other app", consent(Uuid::new_v4(), Active, (0, 3), 60)),
            ("pending", consent(app, Pending, (0, 3), 60)),
            ("revoked", consent(app, Revoked, (0, 3), 60)),
            ("used up", consent(app, Active, (3, 3), 60)),
            ("expired", consent(app, Active, (0, 3), -1)),
        ] {
            let refusal = refusal_of(&refused, app, now);
            assert_eq!(refusal.map(|r| r.reason), Some("CONSENT_REFUSED"), "{case}");
        }
    }
}
