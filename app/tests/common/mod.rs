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
