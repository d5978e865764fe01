//! sea-orm persistence of the exchange center.

pub mod entities;
mod lines;

pub use lines::SeaLines;
