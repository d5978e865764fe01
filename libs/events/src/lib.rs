//! Domain events: envelope, transactional outbox, relay to RabbitMQ with publisher confirms, consumers with inbox deduplication and dead-lettering, and an in-process bus.

#![forbid(unsafe_code)]
