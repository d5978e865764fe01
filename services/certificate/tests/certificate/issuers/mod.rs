//! Issuers, signing keys, the trust list and certificate types.

mod keys;
mod listing;
mod rotation;
mod trust_list;
mod types;

use tonic::{Code, Status};

/// Spoils one field of a good request.
pub type Spoil<T> = Box<dyn Fn(&mut T)>;

/// INVALID_ARGUMENT naming `field` (in the message or the BadRequest
/// details).
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
    let details = format!(
        "{} {}",
        status.message(),
        String::from_utf8_lossy(status.details())
    );
    assert!(details.contains(field), "{field} not named in {status:?}");
}

/// PERMISSION_DENIED with this reason code in its details.
pub fn assert_denied(status: &Status, reason: &str) {
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "{reason}: {status:?}"
    );
    let details = String::from_utf8_lossy(status.details());
    assert!(details.contains(reason), "{reason} not in {status:?}");
}
