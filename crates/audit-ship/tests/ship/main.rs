//! audit-ship against real sinks and real faults: moto's CloudWatch Logs, the file sink, a
//! corrupted segment, a checkpoint that cannot be written, retention. The kill -9 test spawns
//! the CLI and lives in crates/claude-enterprise/tests/cli.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloudwatch;
mod common;
mod elasticsearch;
mod faults;
mod hec;
mod otlp;
// The HEC, Elasticsearch and OTLP receivers and what their tests share.
mod receivers;
mod retention;
