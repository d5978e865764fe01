//! Typed configuration, the service lifecycle (health, reflection, registration, graceful shutdown) and error-to-status mapping shared by every service.

#![forbid(unsafe_code)]
