//! Lines and subscriptions: the API, their store, and the catalog grant
//! events that provision and revoke subscriptions.

pub mod api;
pub mod convert;
pub mod domain;
pub mod grants;
pub mod published;
