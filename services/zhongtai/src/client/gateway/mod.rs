//! Client commands of the capability gateway's admin plane: integrator
//! apps and their credentials, capabilities, policies, usage, the call
//! audit and the OpenAPI document. Each command builds its request in a
//! pure function, so what is sent can be checked without a server.

pub mod apps;
pub mod capabilities;
pub mod credentials;
pub mod observe;
pub mod policies;
pub mod values;

#[cfg(test)]
mod tests;

pub use apps::AppCommand;
pub use capabilities::CapabilityCommand;
pub use observe::{GatewayCommand, UsageArgs};
pub use policies::PolicyCommand;
