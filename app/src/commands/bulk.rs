//! Device commands over a CSV file: `device onboard|assert-location|set-recipient
//! --from-file devices.csv`, for makers and fleets of thousands.
//!
//! What it guarantees:
//! - **Nothing is sent unless the whole file is good.** Every row is read and checked first
//!   (its key, place, class and recipient, duplicates, the chain's records of every device,
//!   the credits all the fees need); all the bad rows are listed with their line numbers.
//! - **A run can be interrupted and run again.** The chain is the record of what was done: a
//!   row whose device is already onboarded by this operator (or already at the file's cell, or
//!   already paid to the file's recipient) is skipped and counted as such, never sent twice.
//! - **Every row's outcome is written** to the result file (CSV: line, device, outcome,
//!   signature, detail) as it finishes, so an interrupted run leaves what it did on disk.
//!
//! The columns, by header name (any order, case-insensitive; `#` starts a comment line):
//! `device` (a keypair file, relative to the CSV's folder, or a public key; onboarding needs
//! the keypair: the device key signs), `cell` (hex H3) or `lat` and `lon` (and optionally
//! `resolution`, default 12), `class` (onboarding; default `--class`), `recipient` (a key, or
//! `operator` for the operator's recipient; onboarding sets it in the same transaction).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, Context as _, Result};
use device_registry::{DeviceClassV0, DeviceStatus, DeviceV0};
use groundwork_client::device_registry::{self as registry, Onboarding};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::context::{credits_of, Context};
use crate::location::{cell_of, LocationArgs};
use crate::signing::Party;

/// The file and how to send it.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BulkArgs {
    /// A CSV file of devices (columns: device, cell or lat and lon, class, recipient); every
    /// row is checked before anything is sent, and rows already done on chain are skipped.
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// Where each row's outcome is written (default: the file's name with `.result.csv`).
    #[arg(long, requires = "from_file")]
    pub result_file: Option<PathBuf>,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 8, requires = "from_file")]
    pub concurrency: usize,
}

/// What is done to each device of the file.
pub enum Action {
    /// Onboard (and set the recipient when the row names one); `class` is the default class,
    /// `maker` co-signs every row when given.
    Onboard {
        class: Option<u16>,
        maker: Option<Box<Keypair>>,
    },
    AssertLocation,
    SetRecipient,
}

impl Action {
    fn verb(&self) -> &'static str {
        match self {
            Action::Onboard { .. } => "onboarded",
            Action::AssertLocation => "moved",
            Action::SetRecipient => "recipient set",
        }
    }
}

/// One row of the file, as read.
struct Row {
    line: u64,
    device: Pubkey,
    keypair: Option<Keypair>,
    cell: Option<u64>,
    class: Option<u16>,
    /// `Some(None)`: the operator's recipient.
    recipient: Option<Option<Pubkey>>,
}

/// A row's plan once the chain was read.
enum Plan {
    Send {
        instructions: Vec<Instruction>,
        fee_credits: u64,
    },
    Skip(String),
}

/// How a row ended.
#[derive(Clone, Debug, Serialize)]
pub struct RowOutcome {
    pub line: u64,
    pub device: String,
    /// done, skipped or failed.
    pub outcome: &'static str,
    pub signature: Option<String>,
    pub detail: String,
}

/// The run's summary.
#[derive(Serialize)]
pub struct BulkSummary {
    pub action: &'static str,
    pub rows: usize,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Credits the fees of the rows done burned.
    pub fee_credits: u64,
    pub seconds: f64,
    pub result_file: String,
    /// Whether nothing was sent (`--dry-run`: the plan only).
    pub dry_run: bool,
    /// The failed rows (at most the first 50).
    pub failures: Vec<RowOutcome>,
    /// Why rows were skipped, with how many.
    pub skipped_because: Vec<(String, usize)>,
}

impl std::fmt::Display for BulkSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run { "to send" } else { self.action };
        writeln!(
            f,
            "{} rows: {verb} {}, skipped {}, failed {} ({} credits of fees) in {:.1} s ({:.1} rows/s)",
            self.rows,
            self.done,
            self.skipped,
            self.failed,
            self.fee_credits,
            self.seconds,
            self.rows as f64 / self.seconds.max(0.001)
        )?;
        for (reason, count) in &self.skipped_because {
            writeln!(f, "  skipped {count}: {reason}")?;
        }
        for failure in &self.failures {
            writeln!(
                f,
                "  line {}: {} failed: {}",
                failure.line, failure.device, failure.detail
            )?;
        }
        writeln!(f, "each row's outcome: {}", self.result_file)
    }
}

/// Most bad rows listed in a refusal (the count says how many more).
const MOST_LISTED: usize = 20;
/// Device records read per RPC call.
const ACCOUNTS_PER_READ: usize = 100;

/// Runs `action` over every row of `args.from_file`.
pub fn run(ctx: &Context, action: Action, args: &BulkArgs) -> Result<()> {
    let file = args
        .from_file
        .as_deref()
        .context("--from-file names the CSV file")?;
    if args.concurrency == 0 || args.concurrency > 64 {
        bail!("--concurrency {} : use 1 to 64", args.concurrency);
    }
    if ctx.send.sign_only || ctx.send.blockhash.is_some() {
        bail!("--from-file signs with the keypairs of the file and -k: --sign-only and --blockhash work one device at a time");
    }
    let started = Instant::now();
    let signer = ctx.signer()?;
    let rows = read_rows(file)?;
    let plans = plan(ctx, file, &action, &signer, &rows)?;
    let result_path = args.result_file.clone().unwrap_or_else(|| {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        file.with_file_name(format!("{stem}.result.csv"))
    });
    let mut summary = BulkSummary {
        action: action.verb(),
        rows: rows.len(),
        done: 0,
        skipped: 0,
        failed: 0,
        fee_credits: 0,
        seconds: 0.0,
        result_file: result_path.display().to_string(),
        dry_run: ctx.send.dry_run,
        failures: Vec::new(),
        skipped_because: Vec::new(),
    };
    if ctx.send.dump_message {
        bail!("--from-file sends many transactions: --dump-transaction-message works one device at a time");
    }
    // A dry run writes no result file: the last real run's stays.
    let mut results = if ctx.send.dry_run {
        None
    } else {
        Some(ResultFile::create(&result_path)?)
    };
    let mut skipped_because: HashMap<String, usize> = HashMap::new();
    let mut to_send = Vec::new();
    for (row, plan) in rows.iter().zip(plans) {
        match plan {
            Plan::Skip(reason) => {
                results
                    .as_mut()
                    .map(|file| {
                        file.write(&RowOutcome {
                            line: row.line,
                            device: row.device.to_string(),
                            outcome: "skipped",
                            signature: None,
                            detail: reason.clone(),
                        })
                    })
                    .transpose()?;
                *skipped_because.entry(reason).or_default() += 1;
                summary.skipped += 1;
            }
            Plan::Send {
                instructions,
                fee_credits,
            } => to_send.push((row, instructions, fee_credits)),
        }
    }
    if ctx.send.dry_run {
        summary.result_file = "(none: a dry run)".into();
        summary.done = to_send.len();
        summary.fee_credits = to_send.iter().map(|(_, _, fee)| fee).sum();
    } else {
        send_all(
            ctx,
            &action,
            &signer,
            to_send,
            args.concurrency,
            |outcome, fee| {
                if let Some(results) = results.as_mut() {
                    results.write(&outcome)?;
                }
                match outcome.outcome {
                    "done" => {
                        summary.done += 1;
                        summary.fee_credits += fee;
                    }
                    "skipped" => {
                        summary.skipped += 1;
                        *skipped_because.entry(outcome.detail).or_default() += 1;
                    }
                    _ => {
                        summary.failed += 1;
                        if summary.failures.len() < 50 {
                            summary.failures.push(outcome);
                        }
                    }
                }
                Ok(())
            },
        )?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    let mut reasons: Vec<(String, usize)> = skipped_because.into_iter().collect();
    reasons.sort();
    summary.skipped_because = reasons;
    ctx.print(&summary)?;
    if summary.failed > 0 {
        bail!(
            "{} of {} rows failed (listed above and in {}); run the same command again to retry them: rows already done are skipped",
            summary.failed,
            summary.rows,
            summary.result_file
        );
    }
    Ok(())
}

/// The result file, one CSV row per finished row, flushed as each is written.
struct ResultFile {
    writer: csv::Writer<std::fs::File>,
}

impl ResultFile {
    fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("creating the result file {}", path.display()))?;
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(["line", "device", "outcome", "signature", "detail"])?;
        writer.flush()?;
        Ok(ResultFile { writer })
    }

    fn write(&mut self, outcome: &RowOutcome) -> Result<()> {
        self.writer.write_record([
            outcome.line.to_string().as_str(),
            outcome.device.as_str(),
            outcome.outcome,
            outcome.signature.as_deref().unwrap_or(""),
            outcome.detail.as_str(),
        ])?;
        self.writer.flush().context("writing the result file")?;
        Ok(())
    }
}

/// Reads and checks every row; the error lists every bad row with its line.
fn read_rows(file: &Path) -> Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(false)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading the header line of {}", file.display()))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    const KNOWN: [&str; 7] = [
        "device",
        "cell",
        "lat",
        "lon",
        "resolution",
        "class",
        "recipient",
    ];
    if let Some(unknown) = headers.iter().find(|name| !KNOWN.contains(&name.as_str())) {
        bail!(
            "{}: unknown column {unknown:?} in the header line (columns: {})",
            file.display(),
            KNOWN.join(", ")
        );
    }
    if !headers.iter().any(|name| name == "device") {
        bail!(
            "{}: the header line has no `device` column (columns: {})",
            file.display(),
            KNOWN.join(", ")
        );
    }
    let column = |name: &str| headers.iter().position(|header| header == name);
    let folder = file.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut first_line_of: HashMap<Pubkey, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                bad.push(format!("{error}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |position| position.line());
        let field = |name: &str| {
            column(name)
                .and_then(|index| record.get(index))
                .filter(|value| !value.is_empty())
        };
        match read_row(line, &field, folder) {
            Ok(row) => {
                if let Some(first) = first_line_of.insert(row.device, line) {
                    bad.push(format!(
                        "line {line}: device {} is also on line {first}",
                        row.device
                    ));
                } else {
                    rows.push(row);
                }
            }
            Err(error) => bad.push(format!("line {line}: {error:#}")),
        }
    }
    if !bad.is_empty() {
        bail!("{}", listed(file, ("bad row", "bad rows"), &bad));
    }
    if rows.is_empty() {
        bail!("{} has no rows below its header line", file.display());
    }
    Ok(rows)
}

/// "file: N bad rows, nothing was sent:" and the first [`MOST_LISTED`] of them; `what` is
/// the singular and plural of what the problems are.
fn listed(file: &Path, what: (&str, &str), problems: &[String]) -> String {
    let mut text = format!(
        "{}: {} {}, nothing was sent:",
        file.display(),
        problems.len(),
        if problems.len() == 1 { what.0 } else { what.1 }
    );
    for problem in problems.iter().take(MOST_LISTED) {
        text.push_str("\n  ");
        text.push_str(problem);
    }
    if problems.len() > MOST_LISTED {
        text.push_str(&format!("\n  and {} more", problems.len() - MOST_LISTED));
    }
    text
}

fn read_row<'a>(line: u64, field: &dyn Fn(&str) -> Option<&'a str>, folder: &Path) -> Result<Row> {
    let device_text = field("device").context("no device (a keypair file or a public key)")?;
    let as_path = folder.join(device_text);
    let (device, keypair) = if as_path.is_file() {
        let keypair = crate::cluster::load_keypair(&as_path)?;
        (keypair.pubkey(), Some(keypair))
    } else if let Ok(key) = device_text.parse::<Pubkey>() {
        (key, None)
    } else {
        bail!("device {device_text:?} is neither a keypair file (from the CSV's folder) nor a public key");
    };
    let number = |name: &str| -> Result<Option<f64>> {
        field(name)
            .map(|text| {
                text.parse::<f64>()
                    .with_context(|| format!("{name} {text:?} is not a number"))
            })
            .transpose()
    };
    let cell = match (field("cell"), number("lat")?, number("lon")?) {
        (None, None, None) => None,
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            bail!("give the cell or lat and lon, not both")
        }
        (cell, lat, lon) => {
            if cell.is_none() && (lat.is_none() || lon.is_none()) {
                bail!("lat and lon go together");
            }
            let resolution = field("resolution")
                .map(|text| {
                    text.parse::<u8>()
                        .with_context(|| format!("resolution {text:?} is not 8 to 15"))
                })
                .transpose()?
                .unwrap_or(12);
            Some(cell_of(&LocationArgs {
                cell: cell.map(str::to_string),
                lat,
                lon,
                resolution,
            })?)
        }
    };
    let class = field("class")
        .map(|text| {
            text.parse::<u16>()
                .with_context(|| format!("class {text:?} is not a class number"))
        })
        .transpose()?;
    let recipient = field("recipient")
        .map(|text| -> Result<Option<Pubkey>> {
            if text.eq_ignore_ascii_case("operator") {
                return Ok(None);
            }
            Ok(Some(text.parse::<Pubkey>().with_context(|| {
                format!("recipient {text:?} is not a public key (or `operator`)")
            })?))
        })
        .transpose()?;
    Ok(Row {
        line,
        device,
        keypair,
        cell,
        class,
        recipient,
    })
}

/// Every device's record, read in chunks.
fn device_records(ctx: &Context, rows: &[Row]) -> Result<Vec<Option<DeviceV0>>> {
    use anchor_lang::AccountDeserialize;
    let addresses: Vec<Pubkey> = rows
        .iter()
        .map(|row| registry::device_address(&row.device))
        .collect();
    let mut records = Vec::with_capacity(rows.len());
    for chunk in addresses.chunks(ACCOUNTS_PER_READ) {
        let accounts = ctx
            .ledger
            .client
            .get_multiple_accounts(chunk)
            .context("reading the devices' records")?;
        for (address, account) in chunk.iter().zip(accounts) {
            records.push(match account {
                Some(account) if account.owner == device_registry::ID => Some(
                    DeviceV0::try_deserialize(&mut account.data.as_slice())
                        .with_context(|| format!("device record {address} does not decode"))?,
                ),
                _ => None,
            });
        }
    }
    Ok(records)
}

/// Each row's plan, from the chain as it is now; an error lists every row that cannot be
/// done and the credits missing, and nothing is sent.
fn plan(
    ctx: &Context,
    file: &Path,
    action: &Action,
    signer: &Party,
    rows: &[Row],
) -> Result<Vec<Plan>> {
    let operator = signer.pubkey();
    if matches!(action, Action::Onboard { .. } | Action::AssertLocation) {
        super::registry::operator_of(ctx, &operator)?;
    }
    let records = device_records(ctx, rows)?;
    let mut classes: HashMap<u16, Option<DeviceClassV0>> = HashMap::new();
    let mut class_of = |id: u16| -> Result<Option<DeviceClassV0>> {
        if let Some(class) = classes.get(&id) {
            return Ok(class.clone());
        }
        let class: Option<DeviceClassV0> =
            groundwork_client::ledger::read(&ctx.ledger, &registry::device_class_address(id))?;
        classes.insert(id, class.clone());
        Ok(class)
    };
    let mut plans = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    let mut fees = 0u64;
    for (row, record) in rows.iter().zip(records) {
        let planned = plan_row(action, &operator, row, record.as_ref(), &mut class_of);
        match planned {
            Ok(plan) => {
                if let Plan::Send { fee_credits, .. } = &plan {
                    fees = fees.saturating_add(*fee_credits);
                }
                plans.push(plan);
            }
            Err(error) => bad.push(format!("line {}: {error:#}", row.line)),
        }
    }
    if !bad.is_empty() {
        bail!(
            "{}",
            listed(
                file,
                ("row that cannot be done", "rows that cannot be done"),
                &bad
            )
        );
    }
    let held = credits_of(ctx, &operator)?;
    if fees > held {
        bail!(
            "the fees of the rows to send need {fees} credits and you hold {held}: buy {} more with `groundwork credits buy`; nothing was sent",
            fees - held
        );
    }
    Ok(plans)
}

fn plan_row(
    action: &Action,
    operator: &Pubkey,
    row: &Row,
    record: Option<&DeviceV0>,
    class_of: &mut dyn FnMut(u16) -> Result<Option<DeviceClassV0>>,
) -> Result<Plan> {
    let short = crate::context::short;
    match action {
        Action::Onboard { class, maker } => {
            if let Some(record) = record {
                if record.operator != *operator {
                    bail!(
                        "device {} is already onboarded by another operator ({})",
                        short(&row.device),
                        short(&record.operator)
                    );
                }
                if row.cell.is_some_and(|cell| cell != record.location) {
                    return Ok(Plan::Skip(
                        "already onboarded by you, in another cell than the file's (move it with assert-location --from-file)".into(),
                    ));
                }
                return Ok(Plan::Skip("already onboarded by you".into()));
            }
            if row.keypair.is_none() {
                bail!("onboarding needs the device's keypair file (the device key signs), not only its public key");
            }
            let cell = row.cell.context("no cell (or lat and lon)")?;
            let class_id = row
                .class
                .or(*class)
                .context("no class: add a class column, or pass --class")?;
            let device_class = class_of(class_id)?.with_context(|| {
                format!("device class {class_id} does not exist on this network")
            })?;
            if device_class.maker_attestation_required && maker.is_none() {
                bail!(
                    "class {class_id} ({}) requires an approved maker's co-signature: pass --maker-keypair",
                    device_class.name
                );
            }
            let mut instructions = vec![registry::onboard_device(Onboarding {
                payer: *operator,
                operator_authority: *operator,
                device_key: row.device,
                class_id,
                maker: maker.as_ref().map(Signer::pubkey),
                location: cell,
            })];
            if let Some(recipient) = row.recipient {
                instructions.push(registry::set_reward_recipient(
                    operator,
                    &row.device,
                    recipient,
                ));
            }
            Ok(Plan::Send {
                instructions,
                fee_credits: device_class.onboarding_fee_credits,
            })
        }
        Action::AssertLocation => {
            let record = owned_record(operator, row, record)?;
            let cell = row.cell.context("no cell (or lat and lon)")?;
            if record.status == DeviceStatus::Suspended {
                bail!(
                    "device {} is suspended ({}): only the network authority can reinstate it",
                    short(&row.device),
                    groundwork_client::device_registry::suspension_reason_words(
                        record.suspension_reason
                    )
                );
            }
            if record.location == cell {
                return Ok(Plan::Skip("already at the file's cell".into()));
            }
            let device_class = class_of(record.class_id)?.with_context(|| {
                format!(
                    "device class {} does not exist on this network",
                    record.class_id
                )
            })?;
            Ok(Plan::Send {
                instructions: vec![registry::assert_location(
                    operator,
                    operator,
                    &row.device,
                    record.class_id,
                    cell,
                )],
                fee_credits: device_class.location_fee_credits,
            })
        }
        Action::SetRecipient => {
            let record = owned_record(operator, row, record)?;
            let recipient = row
                .recipient
                .context("no recipient (a public key, or `operator` for the operator's)")?;
            if record.reward_recipient == recipient {
                return Ok(Plan::Skip("already paid to the file's recipient".into()));
            }
            Ok(Plan::Send {
                instructions: vec![registry::set_reward_recipient(
                    operator,
                    &row.device,
                    recipient,
                )],
                fee_credits: 0,
            })
        }
    }
}

/// The row's device record, when it is onboarded and the signer operates it.
fn owned_record<'a>(
    operator: &Pubkey,
    row: &Row,
    record: Option<&'a DeviceV0>,
) -> Result<&'a DeviceV0> {
    let short = crate::context::short;
    let record = record.with_context(|| {
        format!(
            "device {} is not onboarded on this network",
            short(&row.device)
        )
    })?;
    if record.operator != *operator {
        bail!(
            "device {} is operated by {}, not by this keypair",
            short(&row.device),
            short(&record.operator)
        );
    }
    Ok(record)
}

/// Why `row` needs nothing any more, read afresh from the chain (`None` when it still does):
/// after a failed send, this tells a row an earlier run's transaction did meanwhile.
fn done_meanwhile(ctx: &Context, action: &Action, signer: &Party, row: &Row) -> Option<String> {
    let record: Option<DeviceV0> =
        groundwork_client::ledger::read(&ctx.ledger, &registry::device_address(&row.device))
            .ok()?;
    let mut class_of = |id: u16| -> Result<Option<DeviceClassV0>> {
        Ok(groundwork_client::ledger::read(
            &ctx.ledger,
            &registry::device_class_address(id),
        )?)
    };
    match plan_row(
        action,
        &signer.pubkey(),
        row,
        record.as_ref(),
        &mut class_of,
    ) {
        Ok(Plan::Skip(reason)) => Some(reason),
        _ => None,
    }
}

/// Sends the rows' transactions, `concurrency` at a time, and hands each outcome (with its
/// fee) to `finished` on this thread as it comes.
fn send_all(
    ctx: &Context,
    action: &Action,
    signer: &Party,
    rows: Vec<(&Row, Vec<Instruction>, u64)>,
    concurrency: usize,
    mut finished: impl FnMut(RowOutcome, u64) -> Result<()>,
) -> Result<()> {
    let total = rows.len() as u64;
    let progress = indicatif::ProgressBar::new(total);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} rows  {per_sec}  eta {eta}  {msg}",
        )
        .map_err(|error| anyhow::anyhow!("progress bar: {error}"))?,
    );
    if ctx.output != crate::output::Output::Display {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let maker = match action {
        Action::Onboard { maker, .. } => maker.as_deref(),
        _ => None,
    };
    let options = crate::send::SendOptions {
        quiet: true,
        ..ctx.send
    };
    let queue = Mutex::new(rows.into_iter());
    let (sender, receiver) = mpsc::channel::<(RowOutcome, u64)>();
    let mut failed = 0u64;
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..concurrency {
            let sender = sender.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut rows| rows.next());
                let Ok(Some((row, instructions, fee))) = next else {
                    return;
                };
                let mut signers: Vec<&dyn Signer> = vec![signer];
                if let Some(device) = &row.keypair {
                    signers.push(device);
                }
                if let Some(maker) = maker {
                    signers.push(maker);
                }
                let sent = crate::send::submit(&ctx.ledger, &instructions, &signers, options);
                let outcome = match sent {
                    Ok(crate::send::Sent::Confirmed { signature, .. }) => RowOutcome {
                        line: row.line,
                        device: row.device.to_string(),
                        outcome: "done",
                        signature: Some(signature),
                        detail: String::new(),
                    },
                    Ok(other) => RowOutcome {
                        line: row.line,
                        device: row.device.to_string(),
                        outcome: "failed",
                        signature: None,
                        detail: format!("not sent: {other}"),
                    },
                    Err(error) => match done_meanwhile(ctx, action, signer, row) {
                        // A transaction of an interrupted run, still in flight when this
                        // run read the chain, landed since: the row is done, not failed.
                        Some(reason) => RowOutcome {
                            line: row.line,
                            device: row.device.to_string(),
                            outcome: "skipped",
                            signature: None,
                            detail: format!("{reason} (landed while this run was starting)"),
                        },
                        None => RowOutcome {
                            line: row.line,
                            device: row.device.to_string(),
                            outcome: "failed",
                            signature: None,
                            detail: format!("{error:#}").replace('\n', " "),
                        },
                    },
                };
                if sender.send((outcome, fee)).is_err() {
                    return;
                }
            });
        }
        drop(sender);
        for (outcome, fee) in receiver {
            if outcome.outcome == "failed" {
                failed += 1;
                progress.set_message(format!("{failed} failed"));
            }
            progress.inc(1);
            finished(outcome, fee)?;
        }
        Ok(())
    })?;
    progress.finish_and_clear();
    Ok(())
}
