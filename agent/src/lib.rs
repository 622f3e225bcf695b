//! `groundwork-agent`: the device side of Groundwork telemetry, for Linux gateways.
//!
//! A gateway's own software writes its readings (heartbeats, data sessions, beacons, witness
//! reports) to the agent as JSON lines, on standard input or a Unix socket ([`reading`]). The
//! agent:
//!
//! - **never reuses a seq**, across crashes, reboots and power cuts: seqs are handed out from
//!   a block whose end is on disk (fsync'd) before the first of them is used, and a fresh data
//!   directory starts above the oracle's last accepted seq and the clock ([`outbox`]);
//! - **loses nothing it acknowledged**: each reading is signed with the device key and
//!   appended to a checksummed journal, fsync'd before the writer is told its seq and before
//!   the message is sent; a torn tail left by a power cut is cut at the last whole record;
//! - **sends in batches** (the binary batch form) to the first oracle that answers, failing
//!   over to the next and backing off while none does ([`sender`]);
//! - **reads each message's verdict** of a 207 reply: accepted and duplicate messages are done,
//!   refusals that cannot succeed later are counted by reason and done, and only what may still
//!   succeed (rate limits, an oracle's store trouble, a device the oracle does not know yet) is
//!   sent again — as the same signed bytes, so an acknowledged message is only ever
//!   acknowledged again as a duplicate, never stored twice or re-signed;
//! - **keeps what it cannot send** on disk while no oracle answers, for as long as the oracle
//!   would still take it (its age window), then drops it with a counter;
//! - **checks its clock** against the oracle's replies (their `Date` header), warns when it
//!   is more than 5 s off and reports the skew; messages refused for a timestamp ahead of the
//!   oracle's clock are sent again (they pass once its clock catches up), those refused as too
//!   old are counted by reason.
//!
//! [`run`] ties these together; `status.json` in the data directory says how it is doing.

pub mod keyfile;
pub mod outbox;
pub mod reading;
pub mod run;
pub mod sender;
