//! Tests of the codes part (亮码/扫码): a parent shows her code and her two
//! children's family codes, a counter prints an offline code and revokes
//! it, venues scan codes and the scans are traced by venue and by holder.

mod family;
mod offline;
mod scans;
mod showing;
mod sqlite;
mod validation;
mod world;
