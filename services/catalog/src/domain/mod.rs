//! The catalog's rules, free of transport and storage types.

pub mod error;
pub mod ports;
pub mod resource;

pub use error::CatalogError;
pub use ports::{ResourceFilter, ResourceRepository};
pub use resource::{Resource, ResourceLayer, ResourceState};
