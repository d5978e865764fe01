//! Integration tests of the events library against the real RabbitMQ
//! (`ZT_TEST_AMQP_URL`) and PostgreSQL (`ZT_TEST_POSTGRES_URL`), plus SQLite
//! runs of the migrations and of the in-process bus.

mod connection;
mod dead_letter;
mod in_process;
mod metrics;
mod migrations;
mod pipeline;
mod redelivery;
mod support;
mod trace_context;
