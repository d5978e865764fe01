//! The rules of lines and subscriptions: what a valid definition is, which
//! state moves are allowed, and when a tenant may subscribe. Pure.

pub mod definition;
pub mod push;
pub mod states;
pub mod subscribing;

/// One problem with a request value: (field path, description).
pub type Violation = (String, String);
