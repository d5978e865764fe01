//! sea-orm persistence of the codes part.

mod dependants;
pub mod entities;
mod offline_codes;
mod scan_log;
mod scans;
mod venues;
mod write;

pub use dependants::SeaDependants;
pub use offline_codes::SeaOfflineCodes;
pub use scan_log::{BatchedScanLog, ScanWriter};
pub use scans::SeaScans;
pub use venues::SeaVenues;
