//! `groundwork-agent`: signs a device's readings and delivers them to the oracles (see the
//! library's docs). Readings come as JSON lines on standard input (each answered on standard
//! output with `{"seq": N}` once it is durable) or, with `--socket PATH`, from any number of
//! local connections to a Unix socket (each line answered on its connection).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;
use groundwork_agent::keyfile::DeviceKey;
use groundwork_agent::reading::parse_line;
use groundwork_agent::run::{run, AgentConfig, Input};
use groundwork_telemetry::Key;

#[derive(Parser)]
#[command(
    name = "groundwork-agent",
    version,
    about = "Signs a device's readings and delivers them to the Groundwork oracles"
)]
struct Args {
    /// The device's keypair file (Solana CLI JSON, as `groundwork device keygen` writes).
    #[arg(long)]
    device_keypair: PathBuf,
    /// The network id: the registry config address (`groundwork network status` shows it).
    #[arg(long)]
    network: String,
    /// An oracle's base URL; repeat for failover, in order of preference.
    #[arg(long = "oracle", required = true)]
    oracles: Vec<String>,
    /// Where the journal, the seq and status.json live (one directory per device).
    #[arg(long)]
    data_dir: PathBuf,
    /// Read readings from this Unix socket instead of standard input.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Messages per request (at most 1,000).
    #[arg(long, default_value_t = 200)]
    batch_size: usize,
    /// The oracles' age window (their `max_message_age`): older messages are dropped unsent.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    max_message_age: Duration,
    /// Most messages kept while no oracle takes them (the oldest are dropped beyond).
    #[arg(long, default_value_t = 100_000)]
    max_pending: usize,
    /// With standard input: keep running after it closes (the default exits once every
    /// journaled message is resolved).
    #[arg(long)]
    keep_running: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = DeviceKey::read(&args.device_keypair)?;
    let network: Key = args
        .network
        .parse()
        .map_err(|_| anyhow::anyhow!("--network {:?} is not a base58 public key", args.network))?;
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(stop.clone())?;
    let (events, input) = mpsc::sync_channel::<Input>(4_096);
    let from_stdin = args.socket.is_none();
    let printer = match &args.socket {
        None => Some(read_stdin(events)?),
        Some(path) => {
            serve_socket(path, events)?;
            None
        }
    };
    let config = AgentConfig {
        device,
        network,
        oracles: args.oracles,
        data_dir: args.data_dir,
        batch_size: args.batch_size,
        max_message_age: args.max_message_age,
        max_pending: args.max_pending,
    };
    let status = run(config, input, &stop, from_stdin && !args.keep_running)?;
    // Every answer printed before exiting (the input has ended: its reader is gone).
    if let Some(printer) = printer.filter(|_| !args.keep_running) {
        let _ = printer.join();
    }
    eprintln!(
        "groundwork-agent: {} journaled, {} accepted, {} duplicates, {} pending, refused {:?}",
        status.journaled, status.accepted, status.duplicates, status.pending, status.refused
    );
    Ok(())
}

/// Standard input's lines as readings; their answers go to standard output, in order, from
/// the returned thread.
fn read_stdin(events: mpsc::SyncSender<Input>) -> Result<std::thread::JoinHandle<()>> {
    let (answers, answered) = mpsc::channel::<String>();
    let printer = std::thread::Builder::new()
        .name("stdout".into())
        .spawn(move || {
            let mut stdout = std::io::stdout().lock();
            for line in answered {
                if writeln!(stdout, "{line}")
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    return;
                }
            }
        })?;
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in lines_of(std::io::stdin().lock()) {
                if events.send(line.into_event(Some(answers.clone()))).is_err() {
                    return;
                }
            }
            let _ = events.send(Input::Closed);
        })?;
    Ok(printer)
}

/// One input line: text, or bytes that are not UTF-8 (answered as a bad reading, not taken
/// for the end of the input).
enum Line {
    Text(String),
    NotUtf8,
}

impl Line {
    fn into_event(self, reply: Option<mpsc::Sender<String>>) -> Input {
        match self {
            Line::Text(text) => event_of(&text, reply),
            Line::NotUtf8 => Input::Bad {
                error: "the line is not UTF-8 text".into(),
                reply,
            },
        }
    }
}

/// The non-empty lines of `reader` until it ends or fails.
fn lines_of(mut reader: impl BufRead) -> impl Iterator<Item = Line> {
    std::iter::from_fn(move || loop {
        let mut bytes = Vec::new();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => return None,
            Ok(_) => match String::from_utf8(bytes) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => return Some(Line::Text(text)),
                Err(_) => return Some(Line::NotUtf8),
            },
        }
    })
}

/// Each connection to the socket at `path` sends readings and reads their answers.
fn serve_socket(path: &std::path::Path, events: mpsc::SyncSender<Input>) -> Result<()> {
    use std::os::unix::net::UnixListener;
    if path.exists() {
        std::fs::remove_file(path)
            .with_context(|| format!("removing the old socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    std::thread::Builder::new()
        .name("socket".into())
        .spawn(move || {
            for connection in listener.incoming() {
                let Ok(connection) = connection else { continue };
                let events = events.clone();
                let _ = std::thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || serve_connection(connection, events));
            }
        })?;
    Ok(())
}

fn serve_connection(connection: std::os::unix::net::UnixStream, events: mpsc::SyncSender<Input>) {
    let Ok(mut writer) = connection.try_clone() else {
        return;
    };
    let (answers, answered) = mpsc::channel::<String>();
    let answering = std::thread::spawn(move || {
        for line in answered {
            if writeln!(writer, "{line}").is_err() {
                return;
            }
        }
    });
    for line in lines_of(std::io::BufReader::new(connection)) {
        if events.send(line.into_event(Some(answers.clone()))).is_err() {
            break;
        }
    }
    drop(answers);
    let _ = answering.join();
}

fn event_of(line: &str, reply: Option<mpsc::Sender<String>>) -> Input {
    match parse_line(line) {
        Ok(reading) => Input::Reading { reading, reply },
        Err(error) => Input::Bad {
            error: format!("{error:#}"),
            reply,
        },
    }
}

/// Sets `stop` on SIGTERM or Ctrl-C: the loop makes the journal durable and writes its status.
fn stop_on_signal(stop: Arc<AtomicBool>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut terminate =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("a SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
                stop.store(true, Ordering::SeqCst);
            })
        })?;
    Ok(())
}
