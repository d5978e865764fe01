//! sea-orm persistence of the catalog.

pub mod entities;
mod resources;

pub use resources::SeaResources;
