//! sea-orm persistence of the approval center.

mod entities;
mod service_items;

pub use service_items::SeaServiceItems;
