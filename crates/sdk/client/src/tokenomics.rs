//! The tokenomics program: PDAs and one builder per instruction.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anchor_spl::token_2022::spl_token_2022;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};
use tokenomics::errors::TokenomicsError;
use tokenomics::state::seeds;
use tokenomics::{
    BurnForCreditsArgsV0, EmissionStep, InitializeArgsV0, PriceSource, TokenomicsConfigV0,
    UpdateEmissionControlsArgsV0, UpdatePricingArgsV0,
};

use crate::{event_authority_address, program_data_address};

pub use tokenomics::ID as PROGRAM_ID;

fn pda(seed: &[u8]) -> Pubkey {
    Pubkey::find_program_address(&[seed], &PROGRAM_ID).0
}

/// The network config.
pub fn config_address() -> Pubkey {
    pda(seeds::CONFIG)
}

/// The network token mint `initialize_v0` creates.
pub fn created_network_mint_address() -> Pubkey {
    pda(seeds::NETWORK_MINT)
}

pub fn network_mint_authority_address() -> Pubkey {
    pda(seeds::NETWORK_MINT_AUTHORITY)
}

/// The service credit mint (Token-2022, NonTransferable, 0 decimals).
pub fn credit_mint_address() -> Pubkey {
    pda(seeds::CREDIT_MINT)
}

pub fn credit_mint_authority_address() -> Pubkey {
    pda(seeds::CREDIT_MINT_AUTHORITY)
}

/// The PDA of `reward_program` that alone may call `mint_epoch_emission_v0`.
pub fn epoch_minter_address(reward_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::EPOCH_MINTER], reward_program).0
}

/// The credit account (Token-2022 associated token account) of `owner`.
pub fn credit_account_address(owner: &Pubkey) -> Pubkey {
    get_associated_token_address_with_program_id(owner, &credit_mint_address(), &spl_token_2022::ID)
}

fn instruction(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_instruction(PROGRAM_ID, accounts, data)
}

fn event_authority() -> Pubkey {
    event_authority_address(&PROGRAM_ID)
}

/// `initialize_v0`: creates the config, a network token mint owned by
/// `network_token_program`, and the credit mint. `deployer` must be the upgrade authority.
pub fn initialize(
    deployer: &Pubkey,
    network_token_program: &Pubkey,
    args: InitializeArgsV0,
) -> Instruction {
    instruction(
        tokenomics::accounts::InitializeV0 {
            deployer: *deployer,
            program_data: program_data_address(&PROGRAM_ID),
            config: config_address(),
            network_mint: created_network_mint_address(),
            network_mint_authority: network_mint_authority_address(),
            credit_mint: credit_mint_address(),
            credit_mint_authority: credit_mint_authority_address(),
            network_token_program: *network_token_program,
            credit_token_program: spl_token_2022::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        tokenomics::instruction::InitializeV0 { args },
    )
}

/// `initialize_with_existing_mint_v0`: adopts `network_mint`, whose mint authority
/// `current_mint_authority` signs.
pub fn initialize_with_existing_mint(
    deployer: &Pubkey,
    network_mint: &Pubkey,
    current_mint_authority: &Pubkey,
    network_token_program: &Pubkey,
    args: InitializeArgsV0,
) -> Instruction {
    instruction(
        tokenomics::accounts::InitializeWithExistingMintV0 {
            deployer: *deployer,
            program_data: program_data_address(&PROGRAM_ID),
            config: config_address(),
            network_mint: *network_mint,
            current_mint_authority: *current_mint_authority,
            network_mint_authority: network_mint_authority_address(),
            credit_mint: credit_mint_address(),
            credit_mint_authority: credit_mint_authority_address(),
            network_token_program: *network_token_program,
            credit_token_program: spl_token_2022::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        tokenomics::instruction::InitializeWithExistingMintV0 { args },
    )
}

/// Accounts of a network whose config is known: which mint and which token program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkToken {
    pub mint: Pubkey,
    pub token_program: Pubkey,
}

impl NetworkToken {
    /// `owner`'s associated token account of the network token.
    pub fn account_of(&self, owner: &Pubkey) -> Pubkey {
        get_associated_token_address_with_program_id(owner, &self.mint, &self.token_program)
    }

    /// Creates `owner`'s associated token account unless it exists (`payer` pays its rent).
    pub fn create_account_idempotent(&self, payer: &Pubkey, owner: &Pubkey) -> Instruction {
        anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            payer,
            owner,
            &self.mint,
            &self.token_program,
        )
    }

    /// Moves `amount` base units from `from`'s associated token account to `to`'s, creating
    /// `to`'s when it is missing (`payer` pays its rent). `decimals` must be the mint's: the
    /// token program refuses the transfer otherwise. Fails only when the token program is
    /// neither SPL Token nor Token-2022.
    pub fn transfer(
        &self,
        payer: &Pubkey,
        from: &Pubkey,
        to: &Pubkey,
        amount: u64,
        decimals: u8,
    ) -> Result<[Instruction; 2], anchor_lang::prelude::ProgramError> {
        let create = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            payer,
            to,
            &self.mint,
            &self.token_program,
        );
        // One instruction layout serves SPL Token and Token-2022.
        let transfer = spl_token_2022::instruction::transfer_checked(
            &self.token_program,
            &self.account_of(from),
            &self.mint,
            &self.account_of(to),
            from,
            &[],
            amount,
            decimals,
        )?;
        Ok([create, transfer])
    }
}

/// `burn_for_credits_v0`: `payer` burns from its associated network token account and
/// `recipient` receives the credits. `price_update` is required for a Pyth price source.
pub fn burn_for_credits(
    payer: &Pubkey,
    recipient: &Pubkey,
    network_token: NetworkToken,
    price_update: Option<Pubkey>,
    args: BurnForCreditsArgsV0,
) -> Instruction {
    burn_for_credits_from(
        payer,
        &network_token.account_of(payer),
        recipient,
        network_token,
        price_update,
        args,
    )
}

/// `burn_for_credits_v0` burning from an explicit token account.
pub fn burn_for_credits_from(
    payer: &Pubkey,
    payer_network_tokens: &Pubkey,
    recipient: &Pubkey,
    network_token: NetworkToken,
    price_update: Option<Pubkey>,
    args: BurnForCreditsArgsV0,
) -> Instruction {
    instruction(
        tokenomics::accounts::BurnForCreditsV0 {
            payer: *payer,
            config: config_address(),
            payer_network_tokens: *payer_network_tokens,
            recipient: *recipient,
            recipient_credits: credit_account_address(recipient),
            network_mint: network_token.mint,
            credit_mint: credit_mint_address(),
            credit_mint_authority: credit_mint_authority_address(),
            price_update,
            network_token_program: network_token.token_program,
            credit_token_program: spl_token_2022::ID,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        tokenomics::instruction::BurnForCreditsV0 { args },
    )
}

/// `mint_epoch_emission_v0`, as the reward program sends it through CPI (the epoch minter
/// must sign).
pub fn mint_epoch_emission(
    epoch_minter: &Pubkey,
    network_token: NetworkToken,
    reward_vault: &Pubkey,
    epoch: u64,
) -> Instruction {
    instruction(
        tokenomics::accounts::MintEpochEmissionV0 {
            config: config_address(),
            epoch_minter: *epoch_minter,
            network_mint: network_token.mint,
            network_mint_authority: network_mint_authority_address(),
            reward_vault: *reward_vault,
            network_token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        tokenomics::instruction::MintEpochEmissionV0 { epoch },
    )
}

/// The accounts of every authority instruction that needs nothing but the config.
fn authority_accounts(authority: &Pubkey) -> tokenomics::accounts::AuthorityV0 {
    tokenomics::accounts::AuthorityV0 {
        authority: *authority,
        config: config_address(),
        event_authority: event_authority(),
        program: PROGRAM_ID,
    }
}

/// `update_pricing_v0`: the authority sets the price source and the credit price.
pub fn update_pricing(authority: &Pubkey, args: UpdatePricingArgsV0) -> Instruction {
    instruction(
        authority_accounts(authority),
        tokenomics::instruction::UpdatePricingV0 { args },
    )
}

/// `append_emission_steps_v0`: the authority appends future emission steps.
pub fn append_emission_steps(authority: &Pubkey, steps: Vec<EmissionStep>) -> Instruction {
    instruction(
        authority_accounts(authority),
        tokenomics::instruction::AppendEmissionStepsV0 { steps },
    )
}

/// `update_emission_controls_v0`: the authority sets net emissions and the circuit breaker.
pub fn update_emission_controls(
    authority: &Pubkey,
    args: UpdateEmissionControlsArgsV0,
) -> Instruction {
    instruction(
        authority_accounts(authority),
        tokenomics::instruction::UpdateEmissionControlsV0 { args },
    )
}

/// `transfer_authority_v0`: the authority proposes `new_authority`, or cancels with `None`.
pub fn transfer_authority(authority: &Pubkey, new_authority: Option<Pubkey>) -> Instruction {
    instruction(
        authority_accounts(authority),
        tokenomics::instruction::TransferAuthorityV0 { new_authority },
    )
}

/// `accept_authority_v0`: the proposed authority signs and takes over.
pub fn accept_authority(new_authority: &Pubkey) -> Instruction {
    instruction(
        tokenomics::accounts::AcceptAuthorityV0 {
            new_authority: *new_authority,
            config: config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        tokenomics::instruction::AcceptAuthorityV0,
    )
}

/// The account of Pyth's sponsored price feed `feed_id` in `shard` (the push oracle's PDA
/// `[shard as u16 LE, feed_id]`, kept fresh by Pyth on mainnet and devnet): the price update
/// a purchase passes by default on a network priced from Pyth.
pub fn pyth_price_feed_address(feed_id: &[u8; 32], shard: u16) -> Pubkey {
    Pubkey::find_program_address(
        &[&shard.to_le_bytes(), feed_id],
        &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID,
    )
    .0
}

/// What a purchase of credits would get now, computed exactly as `burn_for_credits_v0`
/// computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditQuote {
    /// Credits minted (floored).
    pub credits: u64,
    /// USD per whole token = `price * 10^exponent`.
    pub price: u64,
    pub exponent: i32,
    /// When the Pyth price was published (None for a fixed price).
    pub publish_time: Option<i64>,
}

/// Why a purchase cannot be quoted; the program would refuse it for the same reason.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error(
        "this network prices credits from Pyth feed 0x{}: a price update account is needed",
        hex::encode(feed_id)
    )]
    PriceUpdateMissing { feed_id: [u8; 32] },
    #[error(
        "the price update is for feed 0x{}, the network uses 0x{}",
        hex::encode(found),
        hex::encode(expected)
    )]
    WrongFeed { found: [u8; 32], expected: [u8; 32] },
    #[error("the price update is only partially verified; the network needs a fully verified one")]
    NotFullyVerified,
    #[error("the price was published at {publish_time}, more than {max_price_age_s} s from the cluster's time {now}")]
    PriceAge {
        publish_time: i64,
        now: i64,
        max_price_age_s: u32,
    },
    #[error("the program refuses the price or amount: {0:?}")]
    Refused(TokenomicsError),
    #[error("the amount buys less than one credit")]
    BuysNoCredit,
}

/// Quotes burning `amount` base units (of a mint with `decimals`) for credits at cluster time
/// `now`, under `config`'s price source; `price_update` is the Pyth account a purchase would
/// pass (ignored for a fixed price).
pub fn quote_credits(
    config: &TokenomicsConfigV0,
    price_update: Option<&PriceUpdateV2>,
    now: i64,
    amount: u64,
    decimals: u8,
) -> Result<CreditQuote, QuoteError> {
    let (price, exponent, publish_time) = match config.price_source {
        PriceSource::Fixed { price_usd_e8 } => {
            (price_usd_e8, tokenomics::FIXED_PRICE_EXPONENT, None)
        }
        PriceSource::Pyth {
            feed_id,
            max_price_age_s,
        } => {
            let update = price_update.ok_or(QuoteError::PriceUpdateMissing { feed_id })?;
            let message = &update.price_message;
            if message.feed_id != feed_id {
                return Err(QuoteError::WrongFeed {
                    found: message.feed_id,
                    expected: feed_id,
                });
            }
            if update.verification_level != VerificationLevel::Full {
                return Err(QuoteError::NotFullyVerified);
            }
            tokenomics::math::check_price_age(now, message.publish_time, max_price_age_s).map_err(
                |_| QuoteError::PriceAge {
                    publish_time: message.publish_time,
                    now,
                    max_price_age_s,
                },
            )?;
            let price = tokenomics::math::conservative_price(message.ema_price, message.ema_conf)
                .map_err(QuoteError::Refused)?;
            (price, message.exponent, Some(message.publish_time))
        }
    };
    let credits = tokenomics::math::credits_for_burn(
        amount,
        price,
        exponent,
        decimals,
        config.usd_per_credit_e9,
    )
    .map_err(QuoteError::Refused)?;
    if credits == 0 {
        return Err(QuoteError::BuysNoCredit);
    }
    Ok(CreditQuote {
        credits,
        price,
        exponent,
        publish_time,
    })
}
