//! sea-orm persistence of issuers, keys, the trust list and certificate
//! types.

pub mod directory;
mod issuers;
mod keys;
mod rows;
mod trust_list;
mod types;
mod write;

pub use issuers::SeaIssuers;
pub use types::SeaTypes;
