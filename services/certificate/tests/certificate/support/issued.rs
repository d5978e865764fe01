//! Certificates issued through the public RPCs, for the tests of the parts
//! that use them (codes, consents).
