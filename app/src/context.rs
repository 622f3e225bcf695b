//! What every user command needs: the cluster, the signer, how to print and how to send, and
//! the network's fixed accounts read once; and the small reads several commands share (a
//! holder's credits).

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use groundwork_client::ledger::read;
use groundwork_client::tokenomics as tokenomics_client;
use groundwork_client::tokenomics::NetworkToken;
use groundwork_client::{
    device_registry as registry, reward_epochs as rewards, staking as staking_client,
};
use serde::Serialize;
use solana_signer::Signer;
use tokenomics::TokenomicsConfigV0;

use crate::cluster::RpcLedger;
use crate::output::Output;
use crate::send::{submit, SendOptions, Sent};
use crate::signing::Party;

pub struct Context {
    pub ledger: RpcLedger,
    pub keypair_path: PathBuf,
    pub output: Output,
    pub send: SendOptions,
    /// The config's oracle URL, for commands whose `--oracle` is not given.
    pub oracle: Option<String>,
    /// Signatures of parties signing elsewhere (`--signer PUBKEY=SIGNATURE`).
    pub presigned: crate::signing::Presigned,
}

/// The oracle a command asks: its `--oracle` flag, else the config's `oracle`, else an error
/// saying how to name one.
pub fn oracle_url(flag: Option<String>, configured: Option<&str>) -> Result<String> {
    flag.or_else(|| configured.map(str::to_string))
        .map(|url| url.trim_end_matches('/').to_string())
        .context("no oracle named: pass --oracle URL, or save one with `groundwork config set oracle URL` (a localnet saves its own in the `localnet` profile)")
}

impl Context {
    /// The oracle to ask: `flag`, else the config's.
    pub fn oracle_url(&self, flag: Option<String>) -> Result<String> {
        oracle_url(flag, self.oracle.as_deref())
    }

    /// `key`, or the signing keypair's public key when none is given (a command's default
    /// owner, operator or recipient).
    pub fn key_or_signer(&self, key: Option<Pubkey>) -> Result<Pubkey> {
        match key {
            Some(key) => Ok(key),
            None => Ok(solana_signer::Signer::pubkey(&self.signer()?)),
        }
    }

    /// The signer (`--keypair`, or the config's): a keypair file, or a public key whose
    /// signature is given with `--signer` or left to `--sign-only`.
    pub fn signer(&self) -> Result<Party> {
        self.party(&self.keypair_path)
    }

    /// The party a signer argument names (a keypair file, or a public key signing elsewhere).
    pub fn party(&self, path: &std::path::Path) -> Result<Party> {
        self.presigned.party(path)
    }

    /// A program's config account, or an error saying the network is not there.
    fn config<T: anchor_lang::AccountDeserialize>(
        &self,
        address: &Pubkey,
        program: &str,
    ) -> Result<T> {
        read(&self.ledger, address)?.with_context(|| {
            format!("{program} is not initialized on this cluster: check -u, or run `groundwork bootstrap`")
        })
    }

    pub fn tokenomics_config(&self) -> Result<TokenomicsConfigV0> {
        self.config(&tokenomics_client::config_address(), "tokenomics")
    }

    pub fn registry_config(&self) -> Result<device_registry::RegistryConfigV0> {
        self.config(&registry::registry_config_address(), "the device registry")
    }

    pub fn staking_config(&self) -> Result<staking::StakingConfigV0> {
        self.config(&staking_client::config_address(), "staking")
    }

    pub fn reward_config(&self) -> Result<reward_epochs::RewardConfigV0> {
        self.config(&rewards::config_address(), "reward_epochs")
    }

    /// The network token (mint and token program) from tokenomics' config.
    pub fn network_token(&self) -> Result<NetworkToken> {
        let config = self.tokenomics_config()?;
        let mint = self
            .ledger
            .client
            .get_account(&config.network_mint)
            .context("reading the network token mint")?;
        Ok(NetworkToken {
            mint: config.network_mint,
            token_program: mint.owner,
        })
    }

    /// The network token's decimals.
    pub fn network_decimals(&self) -> Result<u8> {
        let mint = self.network_token()?.mint;
        let mint: anchor_spl::token_interface::Mint = read(&self.ledger, &mint)?
            .with_context(|| format!("the network token mint {mint} does not exist"))?;
        Ok(mint.decimals)
    }

    /// Sends `instructions` signed by `signers` (the first pays) as the options say, and prints
    /// the outcome.
    pub fn send(
        &self,
        instructions: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&dyn Signer],
    ) -> Result<Sent> {
        let sent = submit(&self.ledger, instructions, signers, self.send)?;
        self.print(&sent)?;
        Ok(sent)
    }

    /// Sends `instructions` signed by `signers` (the first pays) and, once confirmed, prints
    /// what the transaction did as `effect` reads it back from the chain (balances after,
    /// amounts received) under the signature. A dry run or a dumped message prints as
    /// [`Context::send`] does.
    pub fn send_with_effect<T: Serialize + std::fmt::Display>(
        &self,
        instructions: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&dyn Signer],
        effect: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<Sent> {
        let sent = submit(&self.ledger, instructions, signers, self.send)?;
        self.print_with_effect(&sent, effect)?;
        Ok(sent)
    }

    /// Prints `sent` and, when it confirmed, what `effect` reads back from the chain.
    pub fn print_with_effect<T: Serialize + std::fmt::Display>(
        &self,
        sent: &Sent,
        effect: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<()> {
        let effect = match sent {
            Sent::Confirmed { .. } => Some(effect(self)?),
            _ => None,
        };
        self.print(&Done { sent, effect })
    }

    /// The cluster's clock.
    pub fn ledger_time(&self) -> Result<i64> {
        use groundwork_client::ledger::Ledger;
        Ok(self.ledger.unix_timestamp()?)
    }

    /// A token account's balance (0 when it does not exist).
    pub fn token_balance(&self, account: &Pubkey) -> u64 {
        self.ledger.token_balance(account)
    }

    pub fn print<T: Serialize + std::fmt::Display>(&self, value: &T) -> Result<()> {
        crate::output::print(value, self.output)
    }
}

/// A sent transaction and what it did.
#[derive(Serialize)]
struct Done<'a, T> {
    #[serde(flatten)]
    sent: &'a Sent,
    #[serde(skip_serializing_if = "Option::is_none")]
    effect: Option<T>,
}

impl<T: std::fmt::Display> std::fmt::Display for Done<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(effect) = &self.effect {
            write!(f, "{effect}")?;
        }
        write!(f, "{}", self.sent)
    }
}

/// A short form of a key for messages: its first and last four characters.
pub fn short(key: &Pubkey) -> String {
    let text = key.to_string();
    format!("{}…{}", &text[..4], &text[text.len() - 4..])
}

/// The credits `owner` holds.
pub fn credits_of(ctx: &Context, owner: &Pubkey) -> Result<u64> {
    Ok(ctx.token_balance(&tokenomics_client::credit_account_address(owner)))
}
