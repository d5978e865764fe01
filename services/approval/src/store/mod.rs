//! sea-orm persistence of the approval center.

mod application_queries;
mod application_rows;
mod applications;
pub mod entities;
mod processes;
mod service_items;
mod write;

pub use applications::SeaApplications;
pub use processes::SeaProcesses;
pub use service_items::SeaServiceItems;
