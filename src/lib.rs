//! trimtab: an autoscaling agent for Amazon ECS services, with cost tracking built in.
//!
//! Dependencies point downward: the CLI uses `config`, which builds the pure `core` policy.

pub mod agent;
pub mod api;
pub mod aws;
pub mod cli;
pub mod config;
pub mod core;
pub mod notify;
pub mod sim;
pub mod sources;
pub mod status;
