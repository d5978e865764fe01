//! (tests of this part of the exchange center)
