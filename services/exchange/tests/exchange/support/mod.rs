//! Helpers shared by the exchange suite; each part keeps its own file.
#![allow(dead_code)]
pub mod capture;
pub mod enclaves;
pub mod journal;
pub mod lines;
pub mod runner;
