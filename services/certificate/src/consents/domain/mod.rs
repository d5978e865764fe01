//! The consents domain: the model, who is who to a consent, the state
//! machine, what a read discloses, the signed record, and the use cases
//! over the storage port. No gRPC or database types here.

pub mod disclosure;
pub mod identity;
pub mod model;
pub mod ports;
pub mod record;
pub mod rules;
mod workflow;

#[cfg(test)]
mod tests;

pub use identity::{Parties, Viewer, actor_of, caller_app_id};
pub use model::{
    Consent, ConsentFilter, ConsentRequest, ConsentState, ConsentedCertificate, Disclosure, Ending,
    Party, Period, ReadOutcome, Terms, Unlock, Usage,
};
pub use ports::{ConsentStore, Counted, Created, ReadToCount, Saved};
pub use record::CONSENT_RECORD_TYP;
pub use rules::{Change, ConsentEvent};
pub use workflow::{ConsentWorkflow, TIMER_ACTOR};
