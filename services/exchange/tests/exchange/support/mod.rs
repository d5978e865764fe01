//! Helpers shared by the exchange suite; each part keeps its own file.
#![allow(dead_code)]
pub mod capture;
pub mod runner;
pub mod lines;
pub mod enclaves;
pub mod journal;
