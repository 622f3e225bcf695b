//! What the CLI's end-to-end tests share.

use std::net::TcpListener;

/// A port on 127.0.0.1 with its successor also free (a JSON-RPC port and its WebSocket, or
/// the oracle's).
pub fn free_port_pair() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// The `groundwork` binary with its config file at `config` (a test's own, never the user's)
/// and no profile chosen from the environment.
pub fn groundwork(config: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_groundwork"));
    command
        .env("GROUNDWORK_CONFIG", config)
        .env_remove("GROUNDWORK_PROFILE");
    command
}

/// The `groundwork` binary reading no config file (one that does not exist).
pub fn groundwork_unconfigured() -> std::process::Command {
    groundwork(&std::env::temp_dir().join("groundwork-tests-no-config/config.toml"))
}
