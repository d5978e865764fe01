//! The exchange center's rules, free of transport and storage types.

pub mod error;
pub mod line;
pub mod ports;

pub use error::ExchangeError;
pub use line::{Line, LineState};
pub use ports::{LineFilter, LineRepository};
