//! The rules of issuers, keys, the trust list and certificate types, and
//! the use cases over them. No tonic or sea-orm here.

pub mod authority;
pub mod certificate_type;
pub mod issuer;
pub mod issuers;
pub mod keyring;
pub mod keys;
pub mod ports;
pub mod trust_list;
pub mod types;

pub use authority::Authority;
pub use certificate_type::{ClaimDraft, TypeDraft, TypeUpdate};
pub use issuer::{Issuer, IssuerDraft, IssuerState, IssuerUpdate};
pub use issuers::{IssuerAdmin, Revoked, Rotated, TrustListAnswer};
pub use keyring::KeyCache;
pub use keys::{KeyRecord, KeyState, LatestExpiry, NewKey, NewPlatformKey, PlatformKeyRecord};
pub use ports::{
    CreateOutcome, IssuerChange, IssuerFilter, IssuerRepository, IssuerVisibility, MadeKey,
    NewIssuer, Revocation, Rotation, Saved, StoredKey, TypeChange, TypeRepository,
};
pub use trust_list::{PublishedTrustList, TrustList, TrustedIssuer};
pub use types::TypeCatalog;
