//! Showing codes (亮码): a holder's own code, signed on request from their
//! certificates as they stand; nothing is written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_credential::{CodeKind, Holder};
use zhongtai_kit::Caller;

use super::model::{MintedCode, QrRequest};
use super::presentation::{CodeContent, CodeMinter, code_time, expiry};
use super::status::{code_claims, holder_status, person_of_key, types_in_force};
use crate::shared::{
    CertificateDirectory, CertificateError, CertificateType, TypeRegistry, require_holder,
};

/// How long a type's definition is reused before it is read again: a type
/// changed to show another claim shows it in codes within this.
const TYPE_TTL: Duration = Duration::from_secs(5);

/// Whose code, and what kind.
#[derive(Debug, Clone)]
pub struct CodeSubject {
    pub holder_key: String,
    /// Shown when the holder has no certificate to take the name from.
    pub fallback_name: String,
    pub kind: CodeKind,
    pub dependant_id: Option<Uuid>,
}

pub struct Showing {
    directory: Arc<dyn CertificateDirectory>,
    types: TypeCache,
    minter: Arc<CodeMinter>,
    validity: Duration,
}

impl Showing {
    pub fn new(
        directory: Arc<dyn CertificateDirectory>,
        types: Arc<dyn TypeRegistry>,
        minter: Arc<CodeMinter>,
        validity: Duration,
    ) -> Self {
        Self {
            directory,
            types: TypeCache::new(types),
            minter,
            validity,
        }
    }

    /// The caller's own code, valid for `code_validity`.
    pub async fn show(
        &self,
        caller: &Caller,
        image: Option<QrRequest>,
    ) -> Result<MintedCode, CertificateError> {
        let holder_key = require_holder(caller)?.to_string();
        let subject = CodeSubject {
            holder_key,
            fallback_name: String::new(),
            kind: CodeKind::Personal,
            dependant_id: None,
        };
        let now = code_time(crate::shared::now());
        let Some(content) = self
            .content(&subject, now, expiry(now, self.validity), true)
            .await?
        else {
            return Err(CertificateError::FailedPrecondition(
                "no certificates to show".into(),
            ));
        };
        self.sign(&content, image).await
    }

    /// What a code for `subject` says at `issued_at`: `None` when the
    /// holder has no certificate and `require_certificates`.
    pub async fn content(
        &self,
        subject: &CodeSubject,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        require_certificates: bool,
    ) -> Result<Option<CodeContent>, CertificateError> {
        let certificates = self.directory.of_holder(&subject.holder_key, &[]).await?;
        if certificates.is_empty() && require_certificates {
            return Ok(None);
        }
        let name = certificates
            .first()
            .map_or(subject.fallback_name.as_str(), |c| c.holder.name());
        let holder = person_of_key(&subject.holder_key, name).ok_or_else(|| {
            CertificateError::FailedPrecondition(format!(
                "{} is not a person's holder key",
                subject.holder_key
            ))
        })?;
        let mut types = HashMap::new();
        for code in types_in_force(&certificates, issued_at) {
            if let Some(definition) = self.types.get(&code).await? {
                types.insert(code, definition);
            }
        }
        Ok(Some(CodeContent {
            kind: subject.kind,
            holder,
            status: holder_status(&certificates, issued_at),
            claims: code_claims(&certificates, &types, issued_at),
            dependant_id: subject.dependant_id,
            issued_at,
            expires_at,
        }))
    }

    /// Signs `content` as a new code.
    pub async fn sign(
        &self,
        content: &CodeContent,
        image: Option<QrRequest>,
    ) -> Result<MintedCode, CertificateError> {
        let payload = self.minter.payload(content);
        let mut code = self.minter.sign(&payload, image).await?;
        // Typed as the certificates have them (the token keeps JSON).
        code.claims = content.claims.clone();
        Ok(code)
    }

    pub fn minter(&self) -> &CodeMinter {
        &self.minter
    }

    /// The holder a family code is for, under the name it was linked with.
    pub fn family_subject(dependant: &Holder, link_id: Uuid) -> CodeSubject {
        CodeSubject {
            holder_key: dependant.key(),
            fallback_name: dependant.name().to_string(),
            kind: CodeKind::Family,
            dependant_id: Some(link_id),
        }
    }

    pub fn validity(&self) -> Duration {
        self.validity
    }
}

/// A type as read, and when.
type CachedType = (Instant, Option<Arc<CertificateType>>);

/// Certificate types by code, reused for [`TYPE_TTL`].
struct TypeCache {
    registry: Arc<dyn TypeRegistry>,
    entries: Mutex<HashMap<String, CachedType>>,
}

impl TypeCache {
    fn new(registry: Arc<dyn TypeRegistry>) -> Self {
        Self {
            registry,
            entries: Mutex::new(HashMap::new()),
        }
    }

    async fn get(&self, code: &str) -> Result<Option<CertificateType>, CertificateError> {
        let cached = self.entries.lock().ok().and_then(|entries| {
            entries
                .get(code)
                .filter(|(at, _)| at.elapsed() < TYPE_TTL)
                .map(|(_, definition)| definition.clone())
        });
        if let Some(definition) = cached {
            return Ok(definition.map(|d| (*d).clone()));
        }
        let definition = self.registry.certificate_type(code).await?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                code.to_string(),
                (Instant::now(), definition.clone().map(Arc::new)),
            );
        }
        Ok(definition)
    }
}
