//! `groundwork token transfer`: network tokens from the keypair to a wallet, with the
//! recipient's token account created when missing and the usual mistakes refused before
//! anything is simulated (nothing to send, more than held, a token account or program
//! account pasted where a wallet belongs, oneself).

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde::Serialize;
use solana_signer::Signer;

use crate::context::Context;
use crate::output::{format_amount, parse_amount};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Sends network tokens to a wallet (its token account is created if missing, the
    /// keypair paying the rent).
    Transfer {
        /// Tokens, in decimals (e.g. 12.5).
        amount: String,
        /// The receiving wallet's public key.
        recipient: Pubkey,
        /// Send even though the recipient is not a plain wallet (a program-owned account,
        /// e.g. a multisig vault's PDA).
        #[arg(long)]
        allow_non_wallet_recipient: bool,
    },
}

/// What a transfer did.
#[derive(Serialize)]
struct Transferred {
    recipient: String,
    amount_base_units: u64,
    /// Whether the recipient's token account was created by this transfer.
    created_token_account: bool,
    sender_balance_base_units: u64,
    recipient_balance_base_units: u64,
    #[serde(skip)]
    decimals: u8,
}

impl std::fmt::Display for Transferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let amount = |units| format_amount(units, self.decimals);
        writeln!(
            f,
            "sent {} network tokens to {}{}",
            amount(self.amount_base_units),
            self.recipient,
            if self.created_token_account {
                " (its token account was created; you paid the rent)"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "you now hold {}; the recipient holds {}",
            amount(self.sender_balance_base_units),
            amount(self.recipient_balance_base_units)
        )
    }
}

pub fn token(ctx: &Context, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Transfer {
            amount,
            recipient,
            allow_non_wallet_recipient,
        } => {
            let sender = ctx.signer()?;
            let token = ctx.network_token()?;
            let decimals = ctx.network_decimals()?;
            let base_units =
                parse_amount(&amount, decimals).with_context(|| format!("amount {amount}"))?;
            if base_units == 0 {
                bail!("amount {amount} is zero: nothing to send");
            }
            if recipient == sender.pubkey() {
                bail!("{recipient} is your own key: a transfer to yourself changes nothing");
            }
            let held = ctx.token_balance(&token.account_of(&sender.pubkey()));
            if base_units > held {
                bail!(
                    "you hold {} network tokens, fewer than the {amount} to send (`groundwork balance` shows what you hold)",
                    format_amount(held, decimals)
                );
            }
            let owner = ctx
                .ledger
                .client
                .get_account_with_commitment(&recipient, ctx.ledger.client.commitment())
                .context("reading the recipient")?
                .value
                .map(|account| account.owner);
            let system = anchor_lang::solana_program::system_program::ID;
            if let Some(owner) = owner.filter(|owner| *owner != system) {
                if owner == token.token_program {
                    bail!("{recipient} is a token account, not a wallet: pass the wallet that owns it (tokens sent to a token account's own address are lost)");
                }
                if !allow_non_wallet_recipient {
                    bail!("{recipient} is an account of program {owner}, not a wallet: check the key, or pass --allow-non-wallet-recipient if that program (e.g. a multisig) can move tokens");
                }
            }
            let recipient_account = token.account_of(&recipient);
            let existed = ctx.ledger.client.get_account(&recipient_account).is_ok();
            let instructions = token
                .transfer(
                    &sender.pubkey(),
                    &sender.pubkey(),
                    &recipient,
                    base_units,
                    decimals,
                )
                .context("building the transfer")?;
            ctx.send_with_effect(&instructions, &[&sender], |ctx| {
                Ok(Transferred {
                    recipient: recipient.to_string(),
                    amount_base_units: base_units,
                    created_token_account: !existed,
                    sender_balance_base_units: ctx
                        .token_balance(&token.account_of(&sender.pubkey())),
                    recipient_balance_base_units: ctx.token_balance(&recipient_account),
                    decimals,
                })
            })
            .map(drop)
        }
    }
}
