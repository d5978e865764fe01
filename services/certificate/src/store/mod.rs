//! sea-orm persistence of the certificate center.

pub mod entities;
mod issuers;

pub use issuers::SeaIssuers;
