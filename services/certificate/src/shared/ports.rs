//! What the parts of the center need from each other. The issuers part
//! keeps keys, the trust list and certificate types; the certificates part
//! keeps certificates and their status; codes and consents use both through
//! these traits only.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;
use zhongtai_credential::{SigningKey, TrustStore};
use zhongtai_kit::TenantId;

use super::error::CertificateError;
use super::model::{CertificateRecord, CertificateType};

/// What signing a new certificate needs from its issuer.
#[derive(Clone)]
pub struct IssuerSigner {
    pub issuer_id: Uuid,
    /// The issuing department: the certificate's owner tenant.
    pub issuer_tenant: TenantId,
    /// The issuer's active key, decrypted.
    pub key: Arc<SigningKey>,
}

/// Signing keys and the trust list (kept by the issuers part).
#[async_trait]
pub trait Keyring: Send + Sync + 'static {
    /// The active key of `issuer_id` for a certificate of `certificate_type`:
    /// NotFound for an unknown issuer, FailedPrecondition when it is
    /// suspended or not allowed to issue the type.
    async fn issuer_signer(
        &self,
        issuer_id: Uuid,
        certificate_type: &str,
    ) -> Result<IssuerSigner, CertificateError>;

    /// The platform key: signs presentation codes, status lists, the trust
    /// list and consent records. Created on first use.
    async fn platform_signer(&self) -> Result<Arc<SigningKey>, CertificateError>;

    /// The issuers of exactly `tenant`, oldest first.
    async fn issuers_of(&self, tenant: &TenantId) -> Result<Vec<Uuid>, CertificateError>;

    /// The department `issuer_id` belongs to; `None` for an unknown issuer.
    async fn issuer_tenant(&self, issuer_id: &str) -> Result<Option<TenantId>, CertificateError>;

    /// The trust list as verifiers see it, in memory; reflects key changes
    /// made on any instance within the refresh interval. Cheap: called on
    /// every verification.
    async fn trust_store(&self) -> Result<Arc<TrustStore>, CertificateError>;
}

/// Certificate types (kept by the issuers part).
#[async_trait]
pub trait TypeRegistry: Send + Sync + 'static {
    async fn certificate_type(
        &self,
        code: &str,
    ) -> Result<Option<CertificateType>, CertificateError>;
}

/// Issued certificates (kept by the certificates part).
#[async_trait]
pub trait CertificateDirectory: Send + Sync + 'static {
    async fn certificate(&self, id: Uuid) -> Result<Option<CertificateRecord>, CertificateError>;

    /// Certificates of the holder with this [`Holder::key`]
    /// (`zhongtai_credential::Holder::key`), in any status, newest first;
    /// only of `types` unless it is empty.
    async fn of_holder(
        &self,
        holder_key: &str,
        types: &[String],
    ) -> Result<Vec<CertificateRecord>, CertificateError>;
}
