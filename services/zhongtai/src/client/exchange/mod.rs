//! What the exchange center's commands share: column values as flags, YAML
//! and table cells; instants given relative to now; counts, lags and
//! positions as people read them.

pub mod numbers;
pub mod values;
pub mod window;

#[cfg(test)]
mod examples;
